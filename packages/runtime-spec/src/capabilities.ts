// Capability names and Docker's capability arithmetic.
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './defaults.js';
import { SpecError } from './errors.js';

/** "CAP_NET_ADMIN" for "net_admin", "NET_ADMIN" or "cap_net_admin"; "ALL" stays; SpecError when unknown. */
export function normalizeCapability(name: string, field: string): string {
  if (typeof name !== 'string') throw new SpecError(field, 'capabilities must be strings');
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw new SpecError(field, `unknown capability ${JSON.stringify(name)}`);
  return full;
}

export interface CapabilityOptions {
  privileged?: boolean;
  /** Names as normalizeCapability takes them, or "ALL". */
  capAdd?: readonly string[];
  capDrop?: readonly string[];
}

/**
 * The capability set, in number order (moby's TweakCapabilities):
 * privileged gets all; adding ALL gives all but the drops; dropping ALL gives
 * exactly the adds; otherwise the default set minus the drops plus the adds.
 */
export function capabilitySet(opts: CapabilityOptions): string[] {
  if (opts.privileged) return [...ALL_CAPABILITIES];
  const add = (opts.capAdd ?? []).map((c, i) => normalizeCapability(c, `capAdd[${i}]`));
  const drop = (opts.capDrop ?? []).map((c, i) => normalizeCapability(c, `capDrop[${i}]`));
  let caps: string[];
  if (add.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return ALL_CAPABILITIES.filter((c) => caps.includes(c));
}

/**
 * The capabilities set in a kernel capability mask (as /proc/<pid>/status
 * shows CapEff, in hex), by name; bits beyond the known capabilities are ignored.
 */
export function capabilitiesFromMask(mask: bigint | string): string[] {
  const bits = typeof mask === 'bigint' ? mask : BigInt(`0x${mask.trim().replace(/^0x/i, '')}`);
  // ALL_CAPABILITIES is in number order: index i is capability number i.
  return ALL_CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n);
}

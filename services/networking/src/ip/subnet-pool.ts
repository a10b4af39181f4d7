import { cidrContainsCidr, cidrsOverlap, formatCidr, parseCidr, type Cidr } from './cidr.js';

/** A range subnets are cut from: `base` split into prefixes of length `size`. */
export interface SubnetPool {
  base: string;
  size: number;
}

/** Default pool: 256 /24s in 10.89.0.0/16, clear of Docker's 172.17+ defaults. */
export const DEFAULT_SUBNET_POOLS: readonly SubnetPool[] = [{ base: '10.89.0.0/16', size: 24 }];

export function validatePools(pools: readonly SubnetPool[]): void {
  if (pools.length === 0) throw new Error('the subnet pool list is empty');
  for (const p of pools) {
    const base = parseCidr(p.base, { strict: true });
    const bits = base.family === 4 ? 32 : 128;
    if (!Number.isInteger(p.size) || p.size < base.prefix || p.size > bits) {
      throw new Error(`subnet pool ${p.base}: size /${p.size} must be between /${base.prefix} and /${bits}`);
    }
  }
}

/**
 * The first pool subnet that overlaps none of `taken` (existing networks and
 * host routes). Scans in order, jumping past each blocking prefix.
 */
export function allocateSubnet(pools: readonly SubnetPool[], taken: readonly string[]): string {
  validatePools(pools);
  const blocked: Cidr[] = taken.map((t) => parseCidr(t, { allowBare: true }));
  for (const p of pools) {
    const base = parseCidr(p.base, { strict: true });
    const step = 1n << BigInt((base.family === 4 ? 32 : 128) - p.size);
    let cand: Cidr = { family: base.family, network: base.network, prefix: p.size };
    while (cidrContainsCidr(base, cand)) {
      const hit = blocked.find((b) => cidrsOverlap(b, cand));
      if (!hit) return formatCidr(cand);
      // skip to the first candidate after the blocking prefix
      const hitEnd = hit.network + (1n << BigInt((hit.family === 4 ? 32 : 128) - hit.prefix));
      const next = hitEnd > cand.network + step ? ((hitEnd + step - 1n) / step) * step : cand.network + step;
      cand = { ...cand, network: next };
    }
  }
  throw new Error(
    `no free subnet left in the pool (${pools.map((p) => `${p.base} in /${p.size}s`).join(', ')}); every candidate overlaps an existing network or host route`,
  );
}

import type { CniResult } from '@berth/cni';
import { NetworkingError, invalid } from './errors.js';
import { cidrContains, formatIp, parseCidr, parseIp } from './ip/cidr.js';
import type { Attachment, Network } from './network-model.js';
import { allocationBounds } from './network-validation.js';

/** eth0 for a container's first network, then the lowest free ethN. */
export function nextIfname(existing: readonly Pick<Attachment, 'ifname'>[]): string {
  const used = new Set(existing.map((a) => a.ifname));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export function normaliseMac(mac: string): string {
  const m = mac.toLowerCase().replace(/-/g, ':');
  if (!MAC.test(m)) throw invalid(`invalid MAC address ${JSON.stringify(mac)}: expected six hex pairs like 02:42:ac:11:00:02`);
  if ((parseInt(m.slice(0, 2), 16) & 1) === 1) throw invalid(`invalid MAC address ${mac}: a multicast address cannot be assigned`);
  return m;
}

/**
 * Checks a requested static address against the network (inside a subnet,
 * in its ip-range, not the gateway, not taken by another container) and
 * returns it in the form the `ips` capability wants: address/prefix.
 */
export function staticAddress(net: Network, requested: string, taken: readonly Attachment[]): string {
  let ip;
  try {
    ip = parseIp(requested);
  } catch {
    throw invalid(`invalid static IP ${JSON.stringify(requested)} for network "${net.name}": not an IP address`);
  }
  const cfg = net.subnets.find((s) => cidrContains(parseCidr(s.subnet), ip));
  if (!cfg) {
    throw invalid(`static IP ${requested} is not inside any subnet of network "${net.name}" (${net.subnets.map((s) => s.subnet).join(', ')})`);
  }
  const b = allocationBounds(cfg);
  if (ip.value < b.first || ip.value > b.last) {
    const what = cfg.ipRange ? `ip-range ${cfg.ipRange}` : `the usable addresses of ${cfg.subnet}`;
    throw invalid(`static IP ${requested} is outside ${what} of network "${net.name}"`);
  }
  const text = formatIp(ip);
  if (text === formatIp(parseIp(cfg.gateway))) throw new NetworkingError('conflict', `static IP ${requested} is the gateway of network "${net.name}"`);
  for (const a of taken) {
    const addrs = [...a.ips.map((x) => x.replace(/\/\d+$/, '')), ...a.requested.ips];
    if (addrs.some((x) => formatIp(parseIp(x)) === text)) {
      throw new NetworkingError('conflict', `static IP ${requested} is already used by container ${a.containerId} on network "${net.name}"`);
    }
  }
  return `${text}/${parseCidr(cfg.subnet).prefix}`;
}

/** The container interface's addresses, gateways and MAC from a CNI result. */
export function attachmentFromResult(
  result: CniResult,
  ifname: string,
): { ips: string[]; gateways: string[]; mac: string | undefined } {
  const interfaces = result.interfaces ?? [];
  const idx = interfaces.findIndex((i) => i.name === ifname && i.sandbox);
  const ipConfigs = (result.ips ?? []).filter((c) => idx < 0 || c.interface === undefined || c.interface === idx);
  return {
    ips: ipConfigs.map((c) => c.address),
    gateways: ipConfigs.map((c) => c.gateway).filter((g): g is string => typeof g === 'string'),
    mac: idx >= 0 ? interfaces[idx]!.mac : undefined,
  };
}

/** host-local's words for "full" and "taken", turned into errors that say which network. */
export function explainCniFailure(net: Network, err: unknown): Error {
  const msg = (err as { msg?: unknown })?.msg;
  const text = typeof msg === 'string' ? msg : err instanceof Error ? err.message : String(err);
  if (/no IP addresses available/i.test(text)) {
    return new NetworkingError(
      'exhausted',
      `network "${net.name}" has no free IP addresses left (${net.subnets.map((s) => s.ipRange ?? s.subnet).join(', ')}): ${text}`,
      { cause: err },
    );
  }
  if (/requested IP address .* is not available/i.test(text)) {
    return new NetworkingError('conflict', `network "${net.name}": ${text}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(text);
}

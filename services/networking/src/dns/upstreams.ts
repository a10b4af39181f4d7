import { readFileSync } from 'node:fs';
import { formatIp, parseIp } from '../ip/cidr.js';
import { parseResolvConf } from '../names/resolv-conf.js';
import type { DnsUpstream } from './server.js';

/**
 * The host's resolvers from its resolv.conf, port 53. Loopback ones stay:
 * the embedded server runs in the host's namespace and can reach them.
 */
export function hostUpstreams(resolvConfPath: string): DnsUpstream[] {
  let text: string;
  try {
    text = readFileSync(resolvConfPath, 'utf8');
  } catch {
    return [];
  }
  const out: DnsUpstream[] = [];
  for (const ns of parseResolvConf(text).nameservers) {
    try {
      out.push({ address: formatIp(parseIp(ns)), port: 53 });
    } catch {
      // scoped (fe80::1%eth0) or garbage entries are skipped
    }
  }
  return out;
}

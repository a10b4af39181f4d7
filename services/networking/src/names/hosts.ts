import { formatIp, parseIp } from '../ip/cidr.js';
import { invalid } from '../errors.js';

export interface HostsEntry {
  ip: string;
  names: string[];
}

const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters. */
export function validateHostname(name: string): void {
  if (typeof name !== 'string' || name === '' || name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) {
    throw invalid(`invalid hostname ${JSON.stringify(name)}: expected RFC 1123 labels (letters, digits, inner '-'), at most 253 characters`);
  }
}

/** Parses --add-host "name:ip" (the address may be IPv6; Docker's "host-gateway" is not supported here). */
export function parseAddHost(spec: string): HostsEntry {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw invalid(`invalid --add-host ${JSON.stringify(spec)}: expected name:ip`);
  const name = spec.slice(0, colon);
  const ipText = spec.slice(colon + 1).replace(/^\[(.*)\]$/, '$1');
  validateHostname(name);
  let ip: string;
  try {
    ip = formatIp(parseIp(ipText));
  } catch {
    throw invalid(`invalid --add-host ${JSON.stringify(spec)}: ${JSON.stringify(ipText)} is not an IP address`);
  }
  return { ip, names: [name] };
}

export interface HostsFileInput {
  hostname: string;
  domainname?: string | undefined;
  /** The container's own addresses (any prefix length is dropped). */
  addresses: string[];
  extraHosts?: HostsEntry[] | undefined;
  /** Include the IPv6 loopback and multicast lines (default true). */
  ipv6?: boolean | undefined;
}

/** A container's /etc/hosts as Docker writes it: loopback lines, extra hosts, then its own addresses with its name. */
export function buildHostsFile(input: HostsFileInput): string {
  validateHostname(input.hostname);
  const lines = ['127.0.0.1\tlocalhost'];
  if (input.ipv6 !== false) {
    lines.push(
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
    );
  }
  for (const e of input.extraHosts ?? []) lines.push(`${e.ip}\t${e.names.join(' ')}`);
  const names = input.domainname ? [`${input.hostname}.${input.domainname}`, input.hostname] : [input.hostname];
  for (const addr of input.addresses) {
    const ip = formatIp(parseIp(addr.replace(/\/\d+$/, '')));
    lines.push(`${ip}\t${names.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** /etc/hostname content. */
export function buildHostnameFile(hostname: string): string {
  validateHostname(hostname);
  return `${hostname}\n`;
}

import { formatIp, parseIp } from './ip/cidr.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One published port as it is set up: host address ('' = every address) and port to a container port. */
export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

/** A parsed `-p` / `-P` request before host ports are chosen. */
export interface PortRequest {
  /** Host address; undefined means the configured default (127.0.0.1 unless configured). */
  hostIp: string | undefined;
  /** Acceptable host ports; undefined means any free port. */
  hostPorts: { from: number; to: number } | undefined;
  containerPort: number;
  protocol: PortProtocol;
}

const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];

function parsePort(text: string, what: string, spec: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`invalid port spec ${JSON.stringify(spec)}: ${what} ${JSON.stringify(text)} is not a number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new Error(`invalid port spec ${JSON.stringify(spec)}: ${what} ${n} is outside 1-65535`);
  return n;
}

function parseRange(text: string, what: string, spec: string): { from: number; to: number } {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const p = parsePort(text, what, spec);
    return { from: p, to: p };
  }
  const from = parsePort(text.slice(0, dash), what, spec);
  const to = parsePort(text.slice(dash + 1), what, spec);
  if (to < from) throw new Error(`invalid port spec ${JSON.stringify(spec)}: ${what} range ${text} ends before it starts`);
  return { from, to };
}

function parseProtocol(text: string, spec: string): PortProtocol {
  const p = text.toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(p)) {
    throw new Error(`invalid port spec ${JSON.stringify(spec)}: protocol ${JSON.stringify(text)} is not one of ${PROTOCOLS.join(', ')}`);
  }
  return p as PortProtocol;
}

function parseHostIp(text: string, spec: string): string {
  try {
    return formatIp(parseIp(text));
  } catch {
    throw new Error(`invalid port spec ${JSON.stringify(spec)}: host address ${JSON.stringify(text)} is not an IP address`);
  }
}

/**
 * Parses Docker's `-p [ip:][hostPort:]containerPort[/proto]`, with port
 * ranges (`8000-8001:80-81`, or `8000-8010:80` meaning any free one of those
 * host ports) and bracketed IPv6 host addresses (`[::1]:8080:80`). A missing
 * host port (`80`, `127.0.0.1::80`) means a free port chosen at attach time.
 */
export function parsePortSpec(spec: string): PortRequest[] {
  if (typeof spec !== 'string' || spec.trim() === '') throw new Error('invalid port spec "": empty');
  let rest = spec.trim();
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = parseProtocol(rest.slice(slash + 1), spec);
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw new Error(`invalid port spec ${JSON.stringify(spec)}: expected [ipv6]:hostPort:containerPort`);
    hostIp = parseHostIp(rest.slice(1, close), spec);
    rest = rest.slice(close + 2);
    if (rest.split(':').length !== 2) throw new Error(`invalid port spec ${JSON.stringify(spec)}: expected [ipv6]:hostPort:containerPort`);
  }
  const parts = rest.split(':');
  let hostText: string | undefined;
  let containerText: string;
  if (parts.length === 1) {
    containerText = parts[0]!;
  } else if (parts.length === 2) {
    [hostText, containerText] = parts as [string, string];
  } else if (parts.length === 3 && hostIp === undefined) {
    hostIp = parseHostIp(parts[0]!, spec);
    [, hostText, containerText] = parts as [string, string, string];
  } else {
    throw new Error(`invalid port spec ${JSON.stringify(spec)}: expected [ip:][hostPort:]containerPort[/proto]`);
  }
  if (containerText === '') throw new Error(`invalid port spec ${JSON.stringify(spec)}: no container port`);
  const container = parseRange(containerText, 'container port', spec);
  const host = hostText === undefined || hostText === '' ? undefined : parseRange(hostText, 'host port', spec);
  const containerCount = container.to - container.from + 1;
  const out: PortRequest[] = [];
  if (host === undefined) {
    for (let p = container.from; p <= container.to; p++) out.push({ hostIp, hostPorts: undefined, containerPort: p, protocol });
    return out;
  }
  const hostCount = host.to - host.from + 1;
  if (containerCount === 1) {
    return [{ hostIp, hostPorts: host, containerPort: container.from, protocol }];
  }
  if (hostCount !== containerCount) {
    throw new Error(
      `invalid port spec ${JSON.stringify(spec)}: host range ${hostText} and container range ${containerText} differ in length`,
    );
  }
  for (let i = 0; i < containerCount; i++) {
    const hp = host.from + i;
    out.push({ hostIp, hostPorts: { from: hp, to: hp }, containerPort: container.from + i, protocol });
  }
  return out;
}

/** `-P`: every exposed port ("80", "80/tcp", "53/udp", as in an image config) on a free host port. */
export function publishAllRequests(exposedPorts: readonly string[]): PortRequest[] {
  return exposedPorts.flatMap((e) => {
    const [port, proto] = e.split('/') as [string, string | undefined];
    const spec = `${port}/${proto ?? 'tcp'}`;
    return parsePortSpec(spec);
  });
}

/** Whether two host bindings collide: same protocol and port, and the same or a wildcard address. */
export function bindingsCollide(a: Pick<PortMapping, 'hostIp' | 'hostPort' | 'protocol'>, b: Pick<PortMapping, 'hostIp' | 'hostPort' | 'protocol'>): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  return a.hostIp === '' || b.hostIp === '' || a.hostIp === b.hostIp;
}

/** "127.0.0.1:8080/tcp", "[::1]:8080/tcp", "*:8080/udp" */
export function formatBinding(m: Pick<PortMapping, 'hostIp' | 'hostPort' | 'protocol'>): string {
  const ip = m.hostIp === '' ? '*' : m.hostIp.includes(':') ? `[${m.hostIp}]` : m.hostIp;
  return `${ip}:${m.hostPort}/${m.protocol}`;
}

/** The portmap plugin's capability argument for one mapping (CNI CONVENTIONS "portMappings"). */
export function toPortmapEntry(m: PortMapping): { hostPort: number; containerPort: number; protocol: string; hostIP?: string } {
  const entry: { hostPort: number; containerPort: number; protocol: string; hostIP?: string } = {
    hostPort: m.hostPort,
    containerPort: m.containerPort,
    protocol: m.protocol,
  };
  if (m.hostIp !== '') entry.hostIP = m.hostIp;
  return entry;
}

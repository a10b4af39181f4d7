// `-p/--publish [ip:][hostPort:]containerPort[/proto]`, with port ranges, as Docker reads it.
import { isIP } from 'node:net';
import { UsageError } from '../output.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One published port; hostPort 0 lets the networking service pick a free one. */
export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

interface PortRange {
  start: number;
  end: number;
}

function portRange(spec: string, what: string, input: string): PortRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new UsageError(`invalid port mapping "${input}": ${what} "${spec}" is not a port number or range`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const port of [start, end]) {
    if (port < 1 || port > 65535) {
      throw new UsageError(`invalid port mapping "${input}": ${what} ${port} is out of range (1-65535)`);
    }
  }
  if (end < start) throw new UsageError(`invalid port mapping "${input}": ${what} range ${spec} ends before it starts`);
  return { start, end };
}

/** Splits "ip:host:container", "[v6]:host:container", "host:container" or "container". */
function splitMapping(spec: string, input: string): { ip: string; host: string; container: string } {
  let ip = '';
  let rest = spec;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw new UsageError(`invalid port mapping "${input}": unterminated IPv6 address`);
    ip = rest.slice(1, close);
    rest = rest.slice(close + 2);
    const [host = '', container = '', ...extra] = rest.split(':');
    if (extra.length > 0 || container === '') throw new UsageError(`invalid port mapping "${input}": expected [ip]:hostPort:containerPort`);
    return { ip, host, container };
  }
  const parts = rest.split(':');
  if (parts.length === 1) return { ip: '', host: '', container: parts[0]! };
  if (parts.length === 2) return { ip: '', host: parts[0]!, container: parts[1]! };
  if (parts.length === 3) return { ip: parts[0]!, host: parts[1]!, container: parts[2]! };
  throw new UsageError(`invalid port mapping "${input}": expected [ip:][hostPort:]containerPort[/protocol] (IPv6 addresses go in brackets)`);
}

/**
 * Parses one -p value into one mapping per port: "8080:80", "127.0.0.1:8080:80/udp",
 * "127.0.0.1::80" (any free host port), "80" (any free host port),
 * "8000-8001:80-81" (ranges of equal length) or "[::1]:8080:80".
 */
export function parsePublish(input: string): PublishedPort[] {
  const slash = input.lastIndexOf('/');
  const spec = slash >= 0 ? input.slice(0, slash) : input;
  const proto = (slash >= 0 ? input.slice(slash + 1) : 'tcp').toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') {
    throw new UsageError(`invalid port mapping "${input}": unknown protocol "${proto}" (use tcp, udp or sctp)`);
  }
  const { ip, host, container } = splitMapping(spec, input);
  if (ip !== '' && isIP(ip) === 0) throw new UsageError(`invalid port mapping "${input}": "${ip}" is not an IP address`);
  if (container === '') throw new UsageError(`invalid port mapping "${input}": no container port`);
  const c = portRange(container, 'container port', input);
  const count = c.end - c.start + 1;
  let h: PortRange | undefined;
  if (host !== '') {
    h = portRange(host, 'host port', input);
    const hostCount = h.end - h.start + 1;
    if (hostCount !== count) {
      throw new UsageError(
        `invalid port mapping "${input}": host range ${host} has ${hostCount} ports but container range ${container} has ${count}`,
      );
    }
  }
  const out: PublishedPort[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ hostIp: ip, hostPort: h ? h.start + i : 0, containerPort: c.start + i, protocol: proto });
  }
  return out;
}

/** How a published port reads in `ps` and `port`: "127.0.0.1:8080->80/tcp". */
export function formatPublished(p: PublishedPort): string {
  const ip = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return p.hostPort === 0 ? `${p.containerPort}/${p.protocol}` : `${ip}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

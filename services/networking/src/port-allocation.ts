import dgram from 'node:dgram';
import net from 'node:net';
import { NetworkingError } from './errors.js';
import { bindingsCollide, formatBinding, type PortMapping, type PortRequest } from './ports.js';

/** A published port already recorded for some container. */
export interface PortInUse extends PortMapping {
  containerId: string;
  network: string;
}

/** Tries to bind a host port; resolves undefined when free, else the errno code (EADDRINUSE, EADDRNOTAVAIL, ...). */
export function probeHostPort(hostIp: string, port: number, protocol: PortMapping['protocol']): Promise<string | undefined> {
  const host = hostIp === '' ? '0.0.0.0' : hostIp;
  if (protocol === 'sctp') return Promise.resolve(undefined); // node cannot bind SCTP; recorded mappings still guard it
  if (protocol === 'udp') {
    return new Promise((resolve) => {
      const sock = host.includes(':') ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket('udp4');
      sock.once('error', (e: NodeJS.ErrnoException) => {
        sock.close();
        resolve(e.code ?? e.message);
      });
      sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(undefined)));
    });
  }
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    srv.listen({ host, port, exclusive: true, ipv6Only: true }, () => srv.close(() => resolve(undefined)));
  });
}

/** A port the kernel hands out as free right now on hostIp. */
function ephemeralPort(hostIp: string, protocol: PortMapping['protocol']): Promise<number> {
  const host = hostIp === '' ? '0.0.0.0' : hostIp;
  if (protocol === 'udp') {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', reject);
      sock.bind({ address: host, port: 0 }, () => {
        const { port } = sock.address();
        sock.close(() => resolve(port));
      });
    });
  }
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function normaliseHostIp(ip: string): string {
  return ip === '0.0.0.0' || ip === '::' ? '' : ip;
}

function describeProbeFailure(m: PortMapping, code: string): NetworkingError {
  if (code === 'EADDRNOTAVAIL') {
    return new NetworkingError('invalid-argument', `cannot publish ${formatBinding(m)}: ${m.hostIp} is not an address of this host`);
  }
  if (code === 'EADDRINUSE') {
    return new NetworkingError('conflict', `host port ${formatBinding(m)} is already in use on this host (another process is bound to it)`);
  }
  return new NetworkingError('conflict', `host port ${formatBinding(m)} cannot be used: ${code}`);
}

/**
 * Turns port requests into concrete mappings: fills in the default host
 * address, picks free ports for requests without one, and refuses ports that
 * another container has published or that a process on the host holds
 * (probed by binding), before anything is set up.
 */
export async function allocatePorts(
  requests: readonly PortRequest[],
  opts: { defaultHostIp: string; inUse: readonly PortInUse[] },
): Promise<PortMapping[]> {
  const chosen: PortMapping[] = [];
  const takenBy = (m: PortMapping): PortInUse | PortMapping | undefined =>
    opts.inUse.find((u) => bindingsCollide(u, m)) ?? chosen.find((c) => bindingsCollide(c, m));

  for (const req of requests) {
    const hostIp = normaliseHostIp(req.hostIp ?? opts.defaultHostIp);
    const base = { hostIp, containerPort: req.containerPort, protocol: req.protocol };
    if (req.hostPorts && req.hostPorts.from === req.hostPorts.to) {
      const m: PortMapping = { ...base, hostPort: req.hostPorts.from };
      const owner = takenBy(m);
      if (owner) {
        const who = 'containerId' in owner ? ` by container ${owner.containerId} (network "${owner.network}")` : ' by another mapping of this request';
        throw new NetworkingError('conflict', `host port ${formatBinding(m)} is already published${who}`);
      }
      const code = await probeHostPort(hostIp, m.hostPort, m.protocol);
      if (code) throw describeProbeFailure(m, code);
      chosen.push(m);
      continue;
    }
    if (req.hostPorts) {
      let found: PortMapping | undefined;
      for (let p = req.hostPorts.from; p <= req.hostPorts.to && !found; p++) {
        const m: PortMapping = { ...base, hostPort: p };
        if (!takenBy(m) && !(await probeHostPort(hostIp, p, m.protocol))) found = m;
      }
      if (!found) {
        throw new NetworkingError(
          'conflict',
          `no free host port in ${req.hostPorts.from}-${req.hostPorts.to} on ${hostIp || '*'} for container port ${req.containerPort}/${req.protocol}`,
        );
      }
      chosen.push(found);
      continue;
    }
    let found: PortMapping | undefined;
    for (let attempt = 0; attempt < 32 && !found; attempt++) {
      let port: number;
      try {
        port = await ephemeralPort(hostIp, req.protocol === 'udp' ? 'udp' : 'tcp');
      } catch (e) {
        throw describeProbeFailure({ ...base, hostPort: 0 }, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
      }
      const m: PortMapping = { ...base, hostPort: port };
      if (!takenBy(m)) found = m;
    }
    if (!found) throw new NetworkingError('exhausted', `could not find a free host port on ${hostIp || '*'} for container port ${req.containerPort}/${req.protocol}`);
    chosen.push(found);
  }
  return chosen;
}

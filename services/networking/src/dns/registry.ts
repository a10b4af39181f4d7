import { cidrContains, parseCidr, parseIp } from '../ip/cidr.js';
import type { Network } from '../network-model.js';
import { EmbeddedDnsServer, type DnsUpstream, type NameAnswer } from './server.js';

export interface DnsRegistryOptions {
  port: number;
  lookup: (networkId: string, name: string) => NameAnswer | undefined;
  upstreams: () => DnsUpstream[];
  onError: (err: Error, network: Network) => void;
}

/** One embedded DNS server per user network and gateway, started when the gateway exists (after a first attach). */
export class DnsRegistry {
  private readonly servers = new Map<string, EmbeddedDnsServer[]>();
  private readonly opts: DnsRegistryOptions;

  constructor(opts: DnsRegistryOptions) {
    this.opts = opts;
  }

  isRunning(networkId: string): boolean {
    return this.servers.has(networkId);
  }

  /** Starts the network's servers unless running; rejects when a gateway cannot be bound (bridge not up yet). */
  async ensure(net: Network): Promise<void> {
    if (this.servers.has(net.id)) return;
    const subnets = net.subnets.map((s) => parseCidr(s.subnet));
    const allowClient = (address: string): boolean => {
      try {
        const ip = parseIp(address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
        return subnets.some((s) => cidrContains(s, ip));
      } catch {
        return false;
      }
    };
    const started: EmbeddedDnsServer[] = [];
    try {
      for (const s of net.subnets) {
        const server = new EmbeddedDnsServer({
          address: s.gateway,
          port: this.opts.port,
          lookup: (name) => this.opts.lookup(net.id, name),
          // internal networks reach nothing outside, names included
          upstreams: () => (net.internal ? [] : this.opts.upstreams()),
          allowClient,
          onError: (e) => this.opts.onError(e, net),
        });
        await server.start();
        started.push(server);
      }
    } catch (e) {
      await Promise.all(started.map((s) => s.close()));
      throw e;
    }
    this.servers.set(net.id, started);
  }

  async stop(networkId: string): Promise<void> {
    const servers = this.servers.get(networkId) ?? [];
    this.servers.delete(networkId);
    await Promise.all(servers.map((s) => s.close()));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((id) => this.stop(id)));
  }
}

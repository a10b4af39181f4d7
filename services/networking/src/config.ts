// The networking service's settings (beside the shared ones of the service kit).
import { baseConfigSchema } from '@berth/service-kit';
import { z } from 'zod';
import type { DnsUpstream } from './dns/server.js';
import { formatIp, parseIp } from './ip/cidr.js';
import type { SubnetPool } from './ip/subnet-pool.js';

/** "10.89.0.0/16:24" (base, then the prefix length networks get), or { base, size } in a config file. */
const subnetPool = z.union([
  z.object({ base: z.string(), size: z.number().int() }).strict(),
  z
    .string()
    .regex(/^[^\s]+\/\d{1,3}:\d{1,3}$/, 'expected BASE/PREFIX:SIZE, e.g. 10.89.0.0/16:24')
    .transform((s): SubnetPool => {
      const colon = s.lastIndexOf(':');
      return { base: s.slice(0, colon), size: Number(s.slice(colon + 1)) };
    }),
]);

/** A resolver: "IP", "IP:PORT" or "[IPv6]:PORT". */
export function parseUpstream(text: string): DnsUpstream {
  const bracket = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(text);
  const [host, port] = bracket ? [bracket[1]!, Number(bracket[2])] : v4port ? [v4port[1]!, Number(v4port[2])] : [text, 53];
  if (port < 1 || port > 65535) throw new Error(`DNS upstream ${JSON.stringify(text)}: port ${port} is outside 1-65535`);
  try {
    return { address: formatIp(parseIp(host)), port };
  } catch {
    throw new Error(`DNS upstream ${JSON.stringify(text)}: expected IP, IP:PORT or [IPv6]:PORT`);
  }
}

const upstream = z.string().transform((s, ctx) => {
  try {
    return parseUpstream(s);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});

export const networkingConfigSchema = baseConfigSchema.extend({
  /** The default network `bridge` (Docker's name for it), created on first use. */
  defaultNetwork: z
    .object({
      /** Its bridge device. */
      bridge: z.string().min(1).max(15).default('berth0'),
      /** Its subnet; unset: the first free subnet of subnetPools. */
      subnet: z.string().optional(),
      gateway: z.string().optional(),
      ipRange: z.string().optional(),
    })
    .strict()
    .default({}),
  /** Where networks created without a subnet get one (clear of host routes and other networks). */
  subnetPools: z.array(subnetPool).min(1).default(['10.89.0.0/16:24']),
  /** Host address of published ports that name none. */
  defaultHostIp: z.string().default('127.0.0.1'),
  /**
   * host-local's data dir, as the node agent (which runs the plugins) sees
   * it; this service never opens it. Default <state>/ipam: the agent and this
   * service must then see the state root at the same path (the helm chart
   * mounts it at the same path in every container).
   */
  ipamDir: z.string().min(1).optional(),
  /** The node's resolv.conf: resolvers of the default network and host-mode containers, DNS upstreams. */
  hostResolvConfPath: z.string().min(1).default('/etc/resolv.conf'),
  /** The node's hosts file, copied into host-mode containers. */
  hostHostsPath: z.string().min(1).default('/etc/hosts'),
  dns: z
    .object({
      /** Embedded DNS server on user networks (containers resolve each other by name). */
      enabled: z.boolean().default(true),
      /** Port it listens on at each network's gateway. */
      port: z.number().int().min(1).max(65535).default(53),
      /** Where other names are forwarded; unset: the host's resolv.conf nameservers. */
      upstreams: z.array(upstream).optional(),
    })
    .strict()
    .default({}),
  agent: z
    .object({
      /** Deadline of one call to the node agent (an ADD runs every plugin of a list). */
      callTimeoutMs: z.number().int().positive().default(300_000),
    })
    .strict()
    .default({}),
});

export type NetworkingConfig = z.infer<typeof networkingConfigSchema>;

import type { NetworkConfigList, PluginConf } from '@berth/cni';
import { formatIp, parseCidr } from './ip/cidr.js';
import type { Network, SubnetConfig } from './network-model.js';
import { allocationBounds } from './network-validation.js';

export const CNI_VERSION = '1.0.0';

function hostLocalRange(s: SubnetConfig): Record<string, string> {
  const range: Record<string, string> = { subnet: s.subnet, gateway: s.gateway };
  if (s.ipRange) {
    const b = allocationBounds(s);
    range.rangeStart = formatIp({ family: b.family, value: b.first });
    range.rangeEnd = formatIp({ family: b.family, value: b.last });
  }
  return range;
}

/**
 * host-local IPAM: one range set per family, state under ipamDir/<network
 * name>, and default routes only when the network reaches outside.
 */
function ipamConfig(net: Network, ipamDir: string, defaultRoute: boolean): Record<string, unknown> {
  const routes = net.internal || !defaultRoute
    ? []
    : net.subnets.map((s) => ({ dst: parseCidr(s.subnet).family === 4 ? '0.0.0.0/0' : '::/0' }));
  return {
    type: 'host-local',
    dataDir: ipamDir,
    ranges: net.subnets.map((s) => [hostLocalRange(s)]),
    routes,
  };
}

function sysctls(net: Network): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(net.options)) if (k.startsWith('sysctl.')) out[k.slice('sysctl.'.length)] = v;
  return out;
}

function mainPlugin(net: Network, ipamDir: string, defaultRoute: boolean): PluginConf {
  const mtu = net.options.mtu !== undefined ? { mtu: Number(net.options.mtu) } : {};
  const ipam = ipamConfig(net, ipamDir, defaultRoute);
  switch (net.driver) {
    case 'bridge':
      return {
        type: 'bridge',
        bridge: net.bridge!,
        // The bridge holds the gateway address even on internal networks: the
        // embedded DNS server listens there.
        isGateway: true,
        ipMasq: !net.internal,
        hairpinMode: true,
        ...mtu,
        capabilities: { ips: true, mac: true },
        ipam,
      };
    case 'macvlan':
      return {
        type: 'macvlan',
        master: net.parent!,
        mode: net.options.mode ?? 'bridge',
        ...mtu,
        capabilities: { ips: true, mac: true },
        ipam,
      };
    case 'ipvlan':
      return { type: 'ipvlan', master: net.parent!, mode: net.options.mode ?? 'l2', ...mtu, capabilities: { ips: true }, ipam };
    default:
      throw new Error(`network "${net.name}" (driver ${net.driver}) has no CNI configuration`);
  }
}

/**
 * The CNI conflist of a network: the driver plugin with host-local IPAM,
 * portmap for published ports (not on internal networks, which publish
 * nothing), the firewall plugin (on bridges with Docker-like isolation
 * between networks), and tuning when sysctls are set. `defaultRoute: false`
 * is for a container's second and later networks: only one may own the
 * default route (a second one would make the ADD fail with "file exists").
 */
export function buildConflist(net: Network, opts: { ipamDir: string; defaultRoute?: boolean }): NetworkConfigList {
  const plugins: PluginConf[] = [mainPlugin(net, opts.ipamDir, opts.defaultRoute ?? true)];
  const sys = sysctls(net);
  if (Object.keys(sys).length > 0) plugins.push({ type: 'tuning', sysctl: sys });
  // portmap DNATs host ports (PREROUTING and, for the host's own connections,
  // OUTPUT) to the container. Publishing on 127.0.0.1 works because portmap
  // itself sets net.ipv4.conf.<bridge>.route_localnet=1 (127/8 may then be
  // routed to the bridge) and, with snat, masquerades 127.0.0.1 sources so
  // replies come back; the bridge plugin (isGateway) enables ip_forward.
  if (!net.internal) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  plugins.push(
    net.driver === 'bridge'
      ? { type: 'firewall', backend: 'iptables', ingressPolicy: 'same-bridge' }
      : { type: 'firewall', backend: 'iptables' },
  );
  return { cniVersion: CNI_VERSION, name: net.name, plugins };
}

/** Whether a conflist's IPAM installs a default route (0.0.0.0/0 or ::/0). */
export function conflistHasDefaultRoute(list: NetworkConfigList): boolean {
  return list.plugins.some((p) => {
    const routes = (p.ipam as { routes?: { dst?: string }[] } | undefined)?.routes ?? [];
    return routes.some((r) => r.dst === '0.0.0.0/0' || r.dst === '::/0');
  });
}

// Between the core's records and the berth.networking.v1 messages.
import { networking, timestampFromDate, types } from '@berth/api';
import type { CniResult, NetworkConfigList } from '@berth/cni';
import { invalid } from '../errors.js';
import { formatIp, parseIp } from '../ip/cidr.js';
import { type Attachment, type CreateNetworkRequest, type Network } from '../network-model.js';
import type { PortProtocol, PortRequest } from '../ports.js';
import type { AttachRequest, NetworkInspect } from '../service.js';

const PROTOCOLS: Record<PortProtocol, types.Protocol> = {
  tcp: types.Protocol.TCP,
  udp: types.Protocol.UDP,
  sctp: types.Protocol.SCTP,
};

export function protocolToProto(p: PortProtocol): types.Protocol {
  return PROTOCOLS[p];
}

export function protocolFromProto(p: types.Protocol): PortProtocol {
  switch (p) {
    case types.Protocol.UNSPECIFIED:
    case types.Protocol.TCP:
      return 'tcp';
    case types.Protocol.UDP:
      return 'udp';
    case types.Protocol.SCTP:
      return 'sctp';
    default:
      throw invalid(`unknown port protocol ${JSON.stringify(p)} (known: tcp, udp, sctp)`);
  }
}

function timestamp(iso: string) {
  return timestampFromDate(new Date(iso));
}

/** Built in: `none`, `host` and the default network; they are never removed. */
export function isBuiltin(n: Network): boolean {
  return n.isDefault || n.driver === 'null' || n.driver === 'host';
}

/** The proto Network: its IPv4 subnet (the first subnet when it has none), bridge or parent as interface_name. */
export function networkToProto(n: Network, conflist: NetworkConfigList | undefined): networking.Network {
  const subnet = n.subnets.find((s) => parseIp(s.gateway).family === 4) ?? n.subnets[0];
  const options: Record<string, string> = { ...n.options };
  if (n.bridge) options['bridge'] = n.bridge;
  if (n.parent) options['parent'] = n.parent;
  return networking.Network.fromPartial({
    id: n.id,
    name: n.name,
    driver: n.driver,
    subnet: subnet?.subnet ?? '',
    gateway: subnet?.gateway ?? '',
    ipRange: subnet?.ipRange ?? '',
    internal: n.internal,
    labels: n.labels,
    options,
    interfaceName: n.bridge ?? n.parent ?? '',
    builtin: isBuiltin(n),
    conflistJson: conflist ? Buffer.from(JSON.stringify(conflist)) : Buffer.alloc(0),
    createdAt: timestamp(n.created),
  });
}

export function membersToProto(inspect: NetworkInspect): networking.NetworkMember[] {
  return inspect.containers.map((a) =>
    networking.NetworkMember.fromPartial({
      containerId: a.containerId,
      containerName: a.containerName ?? '',
      nodeId: a.node,
      address: a.ips[0] ?? '',
      macAddress: a.mac ?? '',
      aliases: a.aliases,
    }),
  );
}

/** Options "bridge" and "parent" name the host interface; the rest are driver options. */
export function createRequestFromProto(req: networking.CreateNetworkRequest): CreateNetworkRequest {
  const { bridge, parent, ...options } = req.options;
  if (req.subnet === '' && (req.gateway !== '' || req.ipRange !== '')) {
    throw invalid(`network "${req.name}": a gateway or ip-range needs a subnet`);
  }
  const out: CreateNetworkRequest = {
    name: req.name,
    subnets: req.subnet === '' ? [] : [{ subnet: req.subnet, gateway: req.gateway, ipRange: req.ipRange }],
    internal: req.internal,
    labels: req.labels,
    options,
  };
  if (req.driver !== '') out.driver = req.driver as CreateNetworkRequest['driver'];
  if (bridge !== undefined) out.bridge = bridge;
  if (parent !== undefined) out.parent = parent;
  return out;
}

function portFromProto(p: types.PortMapping): PortRequest {
  if (p.containerPort < 1 || p.containerPort > 65535) throw invalid(`container port ${p.containerPort} is outside 1-65535`);
  if (p.hostPort > 65535) throw invalid(`host port ${p.hostPort} is outside 1-65535`);
  let hostIp: string | undefined;
  if (p.hostIp !== '') {
    try {
      hostIp = formatIp(parseIp(p.hostIp));
    } catch {
      throw invalid(`host address ${JSON.stringify(p.hostIp)} of port ${p.containerPort} is not an IP address`);
    }
  }
  return {
    hostIp,
    hostPorts: p.hostPort === 0 ? undefined : { from: p.hostPort, to: p.hostPort },
    containerPort: p.containerPort,
    protocol: protocolFromProto(p.protocol),
  };
}

export function attachRequestFromProto(req: networking.AttachContainerRequest): AttachRequest {
  const out: AttachRequest = { containerId: req.containerId, aliases: req.aliases, ports: req.ports.map(portFromProto) };
  if (req.containerName !== '') out.containerName = req.containerName;
  if (req.network !== '') out.network = req.network;
  if (req.netnsPath !== '') out.netns = req.netnsPath;
  if (req.interfaceName !== '') out.ifname = req.interfaceName;
  if (req.ipAddress !== '') {
    let family: 4 | 6;
    try {
      family = parseIp(req.ipAddress).family;
    } catch {
      throw invalid(`static address ${JSON.stringify(req.ipAddress)} is not an IP address`);
    }
    if (family === 4) out.ipv4Address = req.ipAddress;
    else out.ipv6Address = req.ipAddress;
  }
  return out;
}

/**
 * The proto Attachment. Interfaces and addresses come from the CNI result
 * when there is one (host and container side), else from the record.
 */
export function attachmentToProto(
  a: Attachment,
  extra: { result: CniResult | undefined; dns: types.DnsConfig | undefined },
): networking.Attachment {
  const interfaces = extra.result?.interfaces ?? (a.ifname ? [{ name: a.ifname, mac: a.mac, sandbox: a.netns }] : []);
  const ips = extra.result?.ips
    ? extra.result.ips.map((ip) => ({
        address: ip.address,
        gateway: ip.gateway ?? '',
        interfaceName: ip.interface === undefined ? a.ifname : (interfaces[ip.interface]?.name ?? ''),
      }))
    : a.ips.map((address, i) => ({ address, gateway: a.gateways[i] ?? '', interfaceName: a.ifname }));
  return networking.Attachment.fromPartial({
    containerId: a.containerId,
    containerName: a.containerName ?? '',
    network: a.networkName,
    networkId: a.networkId,
    netnsPath: a.netns,
    interfaceName: a.ifname,
    interfaces: interfaces.map((i) => ({ name: i.name, macAddress: i.mac ?? '', sandbox: i.sandbox ?? '' })),
    ips,
    ports: a.ports.map((p) =>
      types.PortMapping.fromPartial({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort, protocol: protocolToProto(p.protocol) }),
    ),
    aliases: a.aliases,
    dns: extra.dns,
    nodeId: a.node,
    cniResultJson: extra.result ? Buffer.from(JSON.stringify(extra.result)) : Buffer.alloc(0),
    createdAt: timestamp(a.created),
  });
}

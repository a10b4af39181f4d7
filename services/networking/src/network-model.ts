import type { PortMapping } from './ports.js';

export type NetworkDriver = 'bridge' | 'macvlan' | 'ipvlan';

/** One address family of a network. */
export interface SubnetConfig {
  subnet: string;
  gateway: string;
  /** Sub-range containers get their addresses from (static ones included). */
  ipRange?: string;
}

export interface Network {
  id: string;
  name: string;
  /** 'host' and 'null' are the pseudo-networks `host` and `none`. */
  driver: NetworkDriver | 'host' | 'null';
  /** Bridge device (bridge driver). */
  bridge?: string;
  /** Parent interface (macvlan/ipvlan). */
  parent?: string;
  subnets: SubnetConfig[];
  internal: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The default network `bridge` (Docker's name; its device is `berth0` by default), created on first use. */
  isDefault: boolean;
  /** Whether containers resolve each other by name through the embedded DNS server (user bridge networks). */
  dns: boolean;
  created: string;
}

export interface SubnetRequest {
  subnet: string;
  gateway?: string;
  ipRange?: string;
}

export interface CreateNetworkRequest {
  name: string;
  driver?: NetworkDriver;
  /** At most one IPv4 and one IPv6 subnet; none means an IPv4 subnet from the pool. */
  subnets?: SubnetRequest[];
  internal?: boolean;
  labels?: Record<string, string>;
  /** Driver options: mtu, mode (macvlan/ipvlan), sysctl.<name> (tuning plugin), com.docker.network.bridge.name. */
  options?: Record<string, string>;
  /** Bridge device name (default br-<id prefix>). */
  bridge?: string;
  /** Parent interface for macvlan/ipvlan. */
  parent?: string;
}

export type AttachmentState = 'planned' | 'attached';

/** A container's membership in one network on one node. */
export interface Attachment {
  containerId: string;
  containerName: string | undefined;
  networkId: string;
  networkName: string;
  node: string;
  state: AttachmentState;
  /** Netns path ('' for host mode). */
  netns: string;
  ifname: string;
  /** Addresses with prefix length, e.g. 10.89.0.2/24. */
  ips: string[];
  gateways: string[];
  mac: string | undefined;
  aliases: string[];
  ports: PortMapping[];
  /** Static addresses and MAC requested at attach time. */
  requested: { ips: string[]; mac: string | undefined };
  created: string;
}

export const NONE_NETWORK = 'none';
export const HOST_NETWORK = 'host';
// Docker's name for the default network, so `--network bridge` means the same here.
export const DEFAULT_NETWORK_NAME = 'bridge';
export const DEFAULT_BRIDGE = 'berth0';

import {
  DEFAULT_NETNS_PREFIX,
  cniAdd,
  cniCheck,
  cniDel,
  containerNetnsName,
  containerOfNetns,
  listNetns,
  removeNetns,
  removeNetworkResources,
  type CniConfig,
  type CniResult,
  type NetworkConfigList,
  type RuntimeConf,
} from '@berth/cni';

/** A container's network namespace as the node reports it. */
export interface ContainerNetns {
  containerId: string;
  /** Name under /run/netns. */
  name: string;
}

/**
 * What the networking service needs done on a node. In production the node
 * agent implements it (it is the only process that runs CNI plugins, owns
 * netns and their names, and touches host interfaces and IPAM state);
 * localCniExecutor runs @berth/cni in this process (tests, single node).
 */
export interface CniExecutor {
  add(conflist: NetworkConfigList, rt: RuntimeConf): Promise<CniResult>;
  del(conflist: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  check(conflist: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  /** The berth network namespaces on the node, with the container each belongs to. */
  listNetns(): Promise<ContainerNetns[]>;
  /** Removes a container's network namespace; resolves false when it had none. */
  removeNetns(containerId: string): Promise<boolean>;
  /** Removes what a deleted network's plugins left on the node: its bridge (and isolation rules), its host-local state. */
  removeNetworkResources(conflist: NetworkConfigList): Promise<void>;
}

/** @berth/cni in this process; container netns are named <netnsPrefix><container id> as the agent names them. */
export function localCniExecutor(config: CniConfig = {}, opts: { netnsPrefix?: string } = {}): CniExecutor {
  const prefix = opts.netnsPrefix ?? DEFAULT_NETNS_PREFIX;
  return {
    add: (conflist, rt) => cniAdd(conflist, rt, config),
    del: (conflist, rt) => cniDel(conflist, rt, config),
    check: (conflist, rt) => cniCheck(conflist, rt, config),
    listNetns: async () =>
      (await listNetns()).flatMap((name) => {
        const containerId = containerOfNetns(prefix, name);
        return containerId === undefined ? [] : [{ containerId, name }];
      }),
    removeNetns: (containerId) => removeNetns(containerNetnsName(prefix, containerId)),
    removeNetworkResources: async (conflist) => {
      await removeNetworkResources(conflist);
    },
  };
}

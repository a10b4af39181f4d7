import {
  cniAdd,
  cniCheck,
  cniDel,
  listNetns,
  removeBridge,
  removeNetns,
  type CniConfig,
  type CniResult,
  type NetworkConfigList,
  type RuntimeConf,
} from '@berth/cni';

/**
 * What the networking service needs done on a node. In production the node
 * agent implements it (it is the only process that runs CNI plugins and owns
 * netns); localCniExecutor runs @berth/cni in this process (tests, single node).
 */
export interface CniExecutor {
  add(conflist: NetworkConfigList, rt: RuntimeConf): Promise<CniResult>;
  del(conflist: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  check(conflist: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  /** Names under /run/netns. */
  listNetns(): Promise<string[]>;
  /** Resolves false when the netns did not exist. */
  removeNetns(name: string): Promise<boolean>;
  /** Deletes a removed network's bridge and its isolation rules. */
  removeBridge(name: string): Promise<void>;
}

export function localCniExecutor(config: CniConfig = {}): CniExecutor {
  return {
    add: (conflist, rt) => cniAdd(conflist, rt, config),
    del: (conflist, rt) => cniDel(conflist, rt, config),
    check: (conflist, rt) => cniCheck(conflist, rt, config),
    listNetns: () => listNetns(),
    removeNetns: (name) => removeNetns(name),
    removeBridge: async (name) => {
      await removeBridge(name);
    },
  };
}

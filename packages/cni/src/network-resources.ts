// What a network's plugins leave on a node that no CNI DEL removes: the
// bridge plugin's bridge (with the firewall plugin's isolation rules for it)
// and host-local's state directory. Removed when the network is deleted.
import { assertHostLocalStateDir, hostLocalStateDir, removeHostLocalState } from './host-local.js';
import { assertBridgeOrAbsent, removeBridge } from './links.js';
import type { NetworkConfigList } from './types.js';

export interface NetworkHostResources {
  /** Bridge devices the list's bridge plugins name explicitly. */
  bridges: string[];
  /** host-local state directories (<dataDir>/<network name>). */
  ipamDirs: string[];
}

export interface RemovedNetworkResources {
  bridgesRemoved: string[];
  firewallRulesRemoved: number;
  ipamDirsRemoved: string[];
}

/** The node resources a conflist's plugins create and never remove. Pure. */
export function networkHostResources(list: NetworkConfigList): NetworkHostResources {
  // A bridge plugin without "bridge" uses the shared default cni0: not this network's to remove.
  const bridges = list.plugins
    .filter((p) => p.type === 'bridge' && typeof p.bridge === 'string' && p.bridge !== '')
    .map((p) => p.bridge as string);
  const ipamDir = hostLocalStateDir(list);
  return { bridges: [...new Set(bridges)], ipamDirs: ipamDir ? [ipamDir] : [] };
}

/**
 * Removes a network's bridge and host-local state. Everything is checked
 * before anything is removed: an interface of the bridge's name that is not
 * a bridge, or a state directory holding what host-local never writes, fails
 * the whole call. What is already gone is skipped.
 */
export async function removeNetworkResources(list: NetworkConfigList): Promise<RemovedNetworkResources> {
  const { bridges, ipamDirs } = networkHostResources(list);
  for (const b of bridges) await assertBridgeOrAbsent(b);
  for (const d of ipamDirs) await assertHostLocalStateDir(d);
  const out: RemovedNetworkResources = { bridgesRemoved: [], firewallRulesRemoved: 0, ipamDirsRemoved: [] };
  for (const b of bridges) {
    const r = await removeBridge(b);
    if (r.deleted) out.bridgesRemoved.push(b);
    out.firewallRulesRemoved += r.rulesRemoved;
  }
  for (const d of ipamDirs) if (await removeHostLocalState(d)) out.ipamDirsRemoved.push(d);
  return out;
}

// host-local IPAM's state on disk: one directory per network under the
// plugin's dataDir, one file per reserved address (named by the address,
// holding "<container id>\r\n<ifname>"), plus its lock and
// last_reserved_ip.<range> files. CNI DEL releases addresses; nothing in CNI
// removes the directory of a network that is gone.
import { isIP } from 'node:net';
import { join } from 'node:path';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { ForeignResourceError } from './errors.js';
import { validateNetworkName } from './names.js';
import type { NetworkConfigList } from './types.js';

/** host-local's dataDir when its configuration names none. */
export const HOST_LOCAL_DEFAULT_DATA_DIR = '/var/lib/cni/networks';

/** An address host-local has handed out. */
export interface HostLocalReservation {
  address: string;
  containerId: string;
  ifname: string;
}

/** The host-local state directory a conflist's IPAM uses, <dataDir>/<network name>; undefined when it uses no host-local. */
export function hostLocalStateDir(list: NetworkConfigList): string | undefined {
  for (const plugin of list.plugins) {
    const ipam = plugin.ipam as { type?: unknown; dataDir?: unknown } | undefined;
    if (ipam?.type !== 'host-local') continue;
    validateNetworkName(list.name);
    const dataDir = typeof ipam.dataDir === 'string' && ipam.dataDir !== '' ? ipam.dataDir : HOST_LOCAL_DEFAULT_DATA_DIR;
    return join(dataDir, list.name);
  }
  return undefined;
}

/** Whether host-local could have written a file of this name. */
function isHostLocalEntry(name: string): boolean {
  return name === 'lock' || /^last_reserved_ip\.\d+$/.test(name) || isIP(name) !== 0;
}

async function entriesOf(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The addresses reserved in a host-local state directory, ordered by file name; empty when it does not exist. */
export async function listHostLocalReservations(dir: string): Promise<HostLocalReservation[]> {
  const out: HostLocalReservation[] = [];
  for (const name of ((await entriesOf(dir)) ?? []).sort()) {
    if (isIP(name) === 0) continue;
    const [containerId = '', ifname = ''] = (await readFile(join(dir, name), 'utf8')).split(/\r?\n/);
    out.push({ address: name, containerId: containerId.trim(), ifname: ifname.trim() });
  }
  return out;
}

/**
 * Throws, naming the entries, unless `dir` holds only plain files host-local
 * writes: a directory given by mistake (a dataDir of "/" and a network named
 * "etc") is never removed.
 */
export async function assertHostLocalStateDir(dir: string): Promise<void> {
  const entries = await entriesOf(dir);
  if (entries === undefined) return;
  const foreign: string[] = [];
  for (const name of entries) {
    if (!isHostLocalEntry(name) || !(await stat(join(dir, name))).isFile()) foreign.push(name);
  }
  if (foreign.length > 0) {
    const shown = foreign.sort().slice(0, 5).map((n) => JSON.stringify(n)).join(', ');
    throw new ForeignResourceError(
      `${dir} is not a host-local IPAM state directory: it holds ${shown}${foreign.length > 5 ? `, … (${foreign.length} in all)` : ''}, which host-local never writes`,
    );
  }
}

/** Removes a host-local state directory (checked first); resolves false when it did not exist. */
export async function removeHostLocalState(dir: string): Promise<boolean> {
  await assertHostLocalStateDir(dir);
  if ((await entriesOf(dir)) === undefined) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

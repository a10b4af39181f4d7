import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { parseConflist } from './conflist.js';
import { validateContainerId, validateIfname, validateNetworkName } from './names.js';
import type { CniResult, NetworkConfigList } from './types.js';

const KIND = 'berthCniCacheV1';

/** What an ADD left behind, so DEL and CHECK work after a restart (libcni's cachedInfo). */
export interface CachedAttachment {
  kind: typeof KIND;
  networkName: string;
  containerId: string;
  ifname: string;
  netns: string;
  config: NetworkConfigList;
  cniArgs: Record<string, string>;
  capabilityArgs: Record<string, unknown>;
  result: CniResult;
  created: string;
}

export interface AttachmentKey {
  networkName: string;
  containerId: string;
  ifname: string;
}

export function cacheFilePath(cacheDir: string, key: AttachmentKey): string {
  validateNetworkName(key.networkName);
  validateContainerId(key.containerId);
  validateIfname(key.ifname);
  return join(cacheDir, `${key.networkName}-${key.containerId}-${key.ifname}.json`);
}

export async function writeCachedAttachment(cacheDir: string, entry: CachedAttachment): Promise<void> {
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(cacheFilePath(cacheDir, entry), `${JSON.stringify(entry, null, 2)}\n`);
}

function parseEntry(text: string, file: string): CachedAttachment {
  let v: Partial<CachedAttachment>;
  try {
    v = JSON.parse(text) as Partial<CachedAttachment>;
  } catch (e) {
    throw new Error(`CNI cache file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (v.kind !== KIND || typeof v.containerId !== 'string' || typeof v.networkName !== 'string' || typeof v.result !== 'object') {
    throw new Error(`CNI cache file ${file} is not a ${KIND} entry`);
  }
  parseConflist(v.config);
  return v as CachedAttachment;
}

/** The cached ADD for one attachment, or undefined when there is none. */
export async function readCachedAttachment(cacheDir: string, key: AttachmentKey): Promise<CachedAttachment | undefined> {
  const file = cacheFilePath(cacheDir, key);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseEntry(text, file);
}

export async function removeCachedAttachment(cacheDir: string, key: AttachmentKey): Promise<void> {
  await rm(cacheFilePath(cacheDir, key), { force: true });
}

/** Every cached attachment, e.g. to find those whose container is gone. Unreadable files are reported, not skipped silently. */
export async function listCacheDir(
  cacheDir: string,
): Promise<{ entries: CachedAttachment[]; unreadable: { file: string; error: string }[] }> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unreadable: [] };
    throw e;
  }
  const entries: CachedAttachment[] = [];
  const unreadable: { file: string; error: string }[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json') || name.startsWith('.tmp-')) continue;
    const file = join(cacheDir, name);
    try {
      entries.push(parseEntry(await readFile(file, 'utf8'), file));
    } catch (e) {
      unreadable.push({ file, error: (e as Error).message });
    }
  }
  return { entries, unreadable };
}

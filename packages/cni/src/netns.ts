import { readdir, stat } from 'node:fs/promises';
import { validateNetnsName } from './names.js';
import { runProcess, runTool } from './process.js';

/** Where `ip netns` keeps its bind-mounted namespaces. */
export const NETNS_DIR = '/run/netns';

export interface Netns {
  name: string;
  path: string;
}

export function netnsPath(name: string): string {
  validateNetnsName(name);
  return `${NETNS_DIR}/${name}`;
}

export async function netnsExists(name: string): Promise<boolean> {
  try {
    await stat(netnsPath(name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Names of all namespaces under /run/netns (any owner, not only berth's). */
export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Creates a network namespace bind-mounted at /run/netns/<name> (`ip netns
 * add`) with its loopback up. Refuses a name that already exists, and removes
 * the namespace again when bringing lo up fails. Both steps run in one shell:
 * each spawn from a large Node process costs milliseconds on every container start.
 */
export async function createNetns(name: string): Promise<Netns> {
  validateNetnsName(name);
  if (await netnsExists(name)) throw new Error(`netns "${name}" already exists at ${netnsPath(name)}`);
  const res = await runProcess('/bin/sh', ['-c', CREATE_NETNS, 'sh', name], { timeoutMs: 30_000 });
  if (res.code !== 0 || res.timedOut) {
    const why = res.timedOut ? 'timed out after 30000 ms' : res.stderr.trim() || `exit ${res.code ?? res.signal}`;
    throw new Error(`cannot create netns "${name}" (ip netns add, then lo up): ${why}`);
  }
  return { name, path: netnsPath(name) };
}

const CREATE_NETNS = 'ip netns add "$1" || exit; ip -n "$1" link set lo up || { s=$?; ip netns delete "$1"; exit $s; }';

/** Removes a namespace (`ip netns delete`); resolves false when it did not exist. */
export async function removeNetns(name: string): Promise<boolean> {
  validateNetnsName(name);
  if (!(await netnsExists(name))) return false;
  await runTool('ip', ['netns', 'delete', name]);
  return true;
}

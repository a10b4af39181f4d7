import { readdir, stat } from 'node:fs/promises';
import { validateNetnsName } from './names.js';
import { runTool } from './process.js';

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
 * the namespace again when bringing lo up fails.
 */
export async function createNetns(name: string): Promise<Netns> {
  validateNetnsName(name);
  if (await netnsExists(name)) throw new Error(`netns "${name}" already exists at ${netnsPath(name)}`);
  await runTool('ip', ['netns', 'add', name]);
  try {
    await runTool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await runTool('ip', ['netns', 'delete', name]).catch(() => undefined);
    throw e;
  }
  return { name, path: netnsPath(name) };
}

/** Removes a namespace (`ip netns delete`); resolves false when it did not exist. */
export async function removeNetns(name: string): Promise<boolean> {
  validateNetnsName(name);
  if (!(await netnsExists(name))) return false;
  await runTool('ip', ['netns', 'delete', name]);
  return true;
}

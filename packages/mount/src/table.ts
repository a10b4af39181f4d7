/**
 * The live mount table of this process's mount namespace, by path.
 * Read synchronously: mountinfo and realpath are cheap kernel answers, and
 * they sit on every container create and delete, where a trip through
 * libuv's busy threadpool per open/read/close costs more than the read.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { mountPointsUnder, overlayUsesUpper, parseMountInfo, type MountInfo } from './mountinfo.js';
import type { MountSyscalls } from './syscall-helper.js';

/** Programs and files the helpers use; tests point them elsewhere. */
export interface MountTools {
  /** Default: mount (util-linux) from PATH. */
  mountPath?: string;
  /** Default: umount (util-linux) from PATH. */
  umountPath?: string;
  /** Default: /proc/self/mountinfo. */
  mountinfoPath?: string;
  /** When given: overlays mounted and everything unmounted by system call, without mount(8)/umount(8). */
  syscalls?: MountSyscalls;
}

export async function readMountTable(tools: MountTools = {}): Promise<MountInfo[]> {
  return parseMountInfo(readFileSync(tools.mountinfoPath ?? '/proc/self/mountinfo', 'utf8'));
}

/** The path as the mount table shows it: symlinks resolved; a missing path made absolute. */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return realpathSync.native(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(path);
    throw err;
  }
}

/** The mounts stacked on `target`, bottom first. */
export async function mountsAt(target: string, tools: MountTools = {}): Promise<MountInfo[]> {
  const path = await canonicalPath(target);
  return (await readMountTable(tools)).filter((m) => m.mountPoint === path);
}

export async function isMountPoint(target: string, tools: MountTools = {}): Promise<boolean> {
  return (await mountsAt(target, tools)).length > 0;
}

/** Mount points at or below `dir`, each once, deepest first (e.g. to refuse removing a tree that still has mounts). */
export async function mountsUnder(dir: string, tools: MountTools = {}): Promise<string[]> {
  return mountPointsUnder(await readMountTable(tools), await canonicalPath(dir));
}

/** Whether a mounted overlay uses `upper` as its upper dir (overlay forbids changing it underneath). */
export async function overlayUpperInUse(upper: string, tools: MountTools = {}): Promise<boolean> {
  return overlayUsesUpper(await readMountTable(tools), await canonicalPath(upper));
}

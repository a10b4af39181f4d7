// Filling a new volume from the image, as Docker does on a volume's first
// mount: when the volume's directory is empty, what the rootfs has at the
// mount path is copied in with modes, ownership, times and symlinks (as
// links, never followed). The path is resolved inside the rootfs
// (rootfs-path.ts), so an image link such as /data -> /../../etc cannot make
// the agent copy host files; below it, every entry is lstat'ed and a link is
// recreated as a link, so nothing outside the resolved directory is read.
import { constants } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { resolveInRoot } from './rootfs-path.js';

/** What a copy-up did: "copied" (with how many entries), or why it left the volume alone. */
export type CopyUpResult =
  | { outcome: 'copied'; entries: number; skipped: string[] }
  | { outcome: 'volume-not-empty' | 'no-source' | 'source-not-directory' };

async function statOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Gives `path` the owner, mode and times of `st` (a link: owner and times only). */
async function copyAttributes(path: string, st: Awaited<ReturnType<typeof lstat>>): Promise<void> {
  await lchown(path, Number(st.uid), Number(st.gid));
  if (st.isSymbolicLink()) {
    await lutimes(path, st.atime, st.mtime);
    return;
  }
  // After chown, which clears setuid/setgid bits.
  await chmod(path, Number(st.mode) & 0o7777);
  await utimes(path, st.atime, st.mtime);
}

interface Walk {
  entries: number;
  /** Entries that cannot be recreated without mknod (devices, fifos, sockets), relative to the source. */
  skipped: string[];
}

/** Copies the children of directory `from` into existing directory `to`. */
async function copyChildren(from: string, to: string, rel: string, walk: Walk): Promise<void> {
  for (const name of await readdir(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const st = await lstat(src);
    if (st.isDirectory()) {
      await mkdir(dst, { mode: 0o700 });
      await copyChildren(src, dst, join(rel, name), walk);
    } else if (st.isFile()) {
      await copyFile(src, dst, constants.COPYFILE_EXCL);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
    } else {
      walk.skipped.push(join(rel, name));
      continue;
    }
    // A directory's attributes after its content, so its mode and mtime stick.
    await copyAttributes(dst, st);
    walk.entries += 1;
  }
}

/**
 * Copies what the rootfs at `rootfs` has at container path `path` into the
 * volume directory `target` (created if missing), if that directory is empty.
 * The volume's directory takes the source directory's owner and mode.
 */
export async function copyUpVolume(rootfs: string, path: string, target: string): Promise<CopyUpResult> {
  await mkdir(target, { recursive: true, mode: 0o755 });
  if ((await readdir(target)).length > 0) return { outcome: 'volume-not-empty' };
  const source = await resolveInRoot(rootfs, path);
  const st = await statOrUndefined(source);
  if (!st) return { outcome: 'no-source' };
  if (!st.isDirectory()) return { outcome: 'source-not-directory' };
  const walk: Walk = { entries: 0, skipped: [] };
  await copyChildren(source, target, '.', walk);
  await copyAttributes(target, st);
  return { outcome: 'copied', entries: walk.entries, skipped: walk.skipped };
}

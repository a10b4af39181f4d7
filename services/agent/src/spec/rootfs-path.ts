// Resolving a path inside a container rootfs as the container would see it:
// symlinks are followed with the rootfs as "/", and ".." never climbs above
// it, so an image cannot make the agent read host files (e.g. an
// /etc/passwd -> /../../etc/shadow link).
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { errnoCode } from '../errors.js';

const MAX_SYMLINKS = 255;

/** A path in a rootfs that cannot be read as asked: a link loop, not a regular file, too large. The image's doing. */
export class RootfsFileError extends Error {
  override readonly name = 'RootfsFileError';
}

/** The host path of `path` inside `root`, with every symlink resolved inside `root`. */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const rootAbs = posix.resolve(root);
  let current = '/';
  const pending = path.split('/');
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = posix.dirname(current);
      continue;
    }
    const next = posix.join(current, part);
    let isLink = false;
    try {
      isLink = (await lstat(posix.join(rootAbs, next))).isSymbolicLink();
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new RootfsFileError(`too many symlinks resolving ${path} in ${root}`);
    const target = await readlink(posix.join(rootAbs, next));
    if (target.startsWith('/')) current = '/';
    pending.unshift(...target.split('/'));
  }
  return posix.join(rootAbs, current);
}

/**
 * Reads a regular file inside the rootfs (see resolveInRoot), or returns
 * undefined if it does not exist. Refuses files larger than `maxBytes`.
 */
export async function readFileInRoot(root: string, path: string, maxBytes = 16 * 1024 * 1024): Promise<string | undefined> {
  const hostPath = await resolveInRoot(root, path);
  let handle;
  try {
    handle = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new RootfsFileError(`${path} in ${root} changed into a symlink while being read`);
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new RootfsFileError(`${path} in ${root} is not a regular file`);
    if (st.size > maxBytes) throw new RootfsFileError(`${path} in ${root} is too large (${st.size} bytes, limit ${maxBytes})`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

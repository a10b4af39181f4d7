// Reads a small file (/etc/passwd, /etc/group) of a container's root
// filesystem straight from the layer directories its snapshot mounts name,
// without mounting anything: the top layer that has the path decides, and a
// whiteout (a 0/0 character device) hides it, as overlayfs would.
import { lstat, readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { types } from '@berth/api';

/** Most bytes read from one file (passwd and group files are small). */
const MAX_BYTES = 4 * 1024 * 1024;

/** Layer directories of a rootfs, top first; undefined when the mounts are of a shape we do not read. */
export function layerDirs(mounts: readonly types.Mount[]): string[] | undefined {
  if (mounts.length !== 1) return undefined;
  const m = mounts[0]!;
  if (m.type === 'bind' || m.type === 'rbind') return [m.source];
  if (m.type === 'overlay') {
    const upper = m.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
    const lower = m.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length);
    return [...(upper ? [upper] : []), ...(lower ? lower.split(':').filter(Boolean) : [])];
  }
  return undefined;
}

/**
 * The content of `path` inside the rootfs the mounts assemble, or undefined
 * when it does not exist there. Symlinks are not followed (passwd and group
 * are regular files in every image berth runs).
 */
export async function readRootfsFile(mounts: readonly types.Mount[], path: string): Promise<Buffer | undefined> {
  const dirs = layerDirs(mounts);
  if (!dirs) throw new Error(`cannot read ${path}: unsupported rootfs mounts ${JSON.stringify(mounts.map((m) => m.type))}`);
  const rel = normalize(path).replace(/^\/+/, '');
  for (const dir of dirs) {
    const full = join(dir, rel);
    let st;
    try {
      st = await lstat(full);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw error;
    }
    if (st.isCharacterDevice() && st.rdev === 0) return undefined; // overlay whiteout
    if (!st.isFile()) return undefined;
    if (st.size > MAX_BYTES) throw new Error(`${path} in the container's rootfs is ${st.size} bytes, more than ${MAX_BYTES}`);
    return readFile(full);
  }
  return undefined;
}

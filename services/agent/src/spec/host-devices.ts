// The host's device nodes, for privileged containers (Docker gives them all).
// Read on the node that runs the container, at task create.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { OciDevice } from '@berth/runtime-spec';

// Mounted by runc itself, or not devices at all.
const SKIP = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev', 'console']);

/** Linux's encoding of dev_t (glibc gnu_dev_major/minor). */
export function devMajorMinor(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

export async function listHostDevices(devDir = '/dev'): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'EACCES') return;
      throw err;
    }
    for (const name of names) {
      if (rel === '' && SKIP.has(name)) continue;
      const path = join(dir, name);
      let st;
      try {
        st = await lstat(path, { bigint: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      if (st.isDirectory()) await walk(path, join(rel, name));
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        out.push({
          type: st.isCharacterDevice() ? 'c' : 'b',
          path: join('/dev', rel, name),
          ...devMajorMinor(st.rdev),
          fileMode: Number(st.mode & 0o7777n),
          uid: Number(st.uid),
          gid: Number(st.gid),
        });
      }
    }
  };
  await walk(devDir, '');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Usage } from './metadata.js';

/** Disk usage of a tree: allocated bytes and inodes, hardlinked inodes counted once (like du). */
export async function diskUsage(dir: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const st = await lstat(d);
    if (st.nlink > 1 && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
    }
    inodes++;
    size += st.blocks * 512;
    if (st.isDirectory()) for (const name of await readdir(d)) stack.push(join(d, name));
  }
  return { size, inodes };
}

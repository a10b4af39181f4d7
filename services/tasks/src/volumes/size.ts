// The bytes a volume's data uses: the sizes of everything below its
// directory, links not followed, each hard-linked file counted once.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes used below `dir` (0 when it is missing). */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    let st;
    try {
      st = await lstat(path);
    } catch {
      return; // removed while walking
    }
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (!st.isDirectory()) {
      total += st.size;
      return;
    }
    let names: string[] = [];
    try {
      names = await readdir(path);
    } catch {
      return;
    }
    for (const name of names) await walk(join(path, name));
  };
  await walk(dir);
  return total;
}

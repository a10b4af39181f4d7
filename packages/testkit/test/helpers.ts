import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../src/mounts.js';

/** Temp dirs for one suite, all removed by cleanup(). */
export function tempDirs(): { make(prefix: string): Promise<string>; cleanup(): Promise<void> } {
  const dirs: string[] = [];
  return {
    make: async (prefix) => {
      const d = await mkdtemp(join(tmpdir(), `${prefix}-`));
      dirs.push(d);
      return d;
    },
    cleanup: async () => {
      for (const d of dirs.splice(0)) await removeTree(d);
    },
  };
}

// A fresh state root and runtime dir per suite; cleanup() unmounts whatever a
// test left mounted under them before deleting, so a failed test cannot make
// the next one trip over its overlay mounts.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from './mounts.js';

export interface StateRoot {
  /** Fresh, empty directory for service state (like /var/lib/berth). */
  root: string;
  /** Fresh, empty directory for sockets and pid files (like /run/berth); short, so socket paths fit 108 bytes. */
  runtimeDir: string;
  /** Unmounts anything under both and removes them; safe to call twice. */
  cleanup(): Promise<void>;
}

export async function makeStateRoot(prefix = 'berth'): Promise<StateRoot> {
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    throw new Error(`state root prefix ${JSON.stringify(prefix)} may only hold letters, digits, '_', '.', '-'`);
  }
  const root = await mkdtemp(join(tmpdir(), `${prefix}-state-`));
  const runtimeDir = await mkdtemp(join(tmpdir(), `${prefix}-run-`));
  return {
    root,
    runtimeDir,
    cleanup: async () => {
      await removeTree(runtimeDir);
      await removeTree(root);
    },
  };
}

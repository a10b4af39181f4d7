// Removing a directory tree off the caller's path: one rename moves it into
// a "removed" directory on the same file system (so it is gone from where it
// was at once, and a new tree of the same name can take its place), then it
// is deleted in the background. What a crash leaves in the removed
// directory is deleted at the next start (purgeRemoved). Every `run --rm`
// removes two trees (the agent's state dir, the writable snapshot); deleting
// them in place costs it 1-4 ms each.
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';

let sequence = 0;

export interface Removal {
  /** Settles when the tree is deleted (never rejects: onError has the failure). */
  done: Promise<void>;
}

/**
 * Moves `dir` into `removedDir` (created if missing; must be on the same file
 * system) and deletes it there in the background. A missing `dir` is not an
 * error. Retries ENOTEMPTY/EBUSY as rm does: a process ending may still write in it.
 */
export function removeInBackground(dir: string, removedDir: string, onError: (err: unknown, path: string) => void): Removal {
  mkdirSync(removedDir, { recursive: true, mode: 0o700 });
  const aside = join(removedDir, `${basename(dir)}.${process.pid}.${Date.now()}.${sequence++}`);
  try {
    renameSync(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { done: Promise.resolve() };
    throw err;
  }
  const done = rm(aside, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }).catch((err: unknown) => onError(err, aside));
  return { done };
}

/** Deletes whatever an earlier process left in `removedDir` (at start-up); returns the paths it deleted. */
export async function purgeRemoved(removedDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(removedDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const paths = names.map((n) => join(removedDir, n));
  await Promise.all(paths.map((p) => rm(p, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 })));
  return paths;
}

/**
 * One owner's background removals into one `removed` directory: what it
 * removes, what is still being deleted (settled(), for a clean stop), and
 * the purge of a crash's leftovers at start-up.
 */
export class BackgroundRemover {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    readonly removedDir: string,
    private readonly onError: (err: unknown, path: string) => void,
  ) {}

  /** Moves `dir` aside at once and deletes it in the background (see removeInBackground). */
  remove(dir: string): void {
    const { done } = removeInBackground(dir, this.removedDir, this.onError);
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Settles once every tree removed so far is deleted from disk. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Deletes what an earlier process left (call before the first remove). */
  purge(): Promise<string[]> {
    return purgeRemoved(this.removedDir);
  }
}

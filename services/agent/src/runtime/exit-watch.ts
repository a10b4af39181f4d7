// Watching the shared exit dir, where conmon writes <exit-dir>/<id> when a
// container ends. inotify (fs.watch) names the file that changed, so each
// event costs the reads of one container, not a rescan of every exit file;
// a slow full scan backs it up (missed or coalesced events, a watch that
// failed or a file system without inotify).
import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { isValidId } from './layout.js';

/**
 * The container ids that file names in the exit dir refer to, each once, in
 * order. Anything that cannot be an id is not a container's exit file (e.g.
 * the agent's own ".tmp-berth-…" temp files). conmon's temp file
 * "<id>.XXXXXX" looks like an id: the reader finds no exit of that name. Pure.
 */
export function exitFileIds(names: Iterable<string | null | undefined>): string[] {
  const ids = new Set<string>();
  for (const name of names) if (name && isValidId(name)) ids.add(name);
  return [...ids];
}

export interface ExitDirWatchOptions {
  /** Period of the full scan that backs up inotify. */
  pollMs: number;
  /** Stops the watch. */
  signal: AbortSignal;
}

/**
 * Calls `onIds` with the ids of exit files as they appear in `dir`: at once
 * with every file already there, then with the one file an inotify event
 * names, and every `pollMs` with all of them again. The same id may come
 * more than once; the caller decides what is new. `onIds` must not throw.
 */
export function watchExitDir(dir: string, onIds: (ids: string[]) => void, opts: ExitDirWatchOptions): void {
  const { signal } = opts;
  if (signal.aborted) return;
  let watcher: FSWatcher | undefined;
  const startWatch = (): void => {
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (signal.aborted) return;
        // No name (the kernel's queue overflowed): look at everything.
        if (name) onIds(exitFileIds([name]));
        else scan();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined; // the next poll tries again
      });
    } catch {
      watcher = undefined; // no dir yet, or no inotify: the poll covers it
    }
  };
  const scan = (): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    const ids = exitFileIds(names);
    if (ids.length > 0 && !signal.aborted) onIds(ids);
  };
  const poll = setInterval(() => {
    if (!watcher) startWatch();
    scan();
  }, opts.pollMs);
  poll.unref();
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(poll);
      watcher?.close();
    },
    { once: true },
  );
  // Watch first, then scan: a file written in between is seen twice, never missed.
  startWatch();
  scan();
}

// Waits until an async check yields a value, re-checking when something
// changes in a directory (inotify through fs.watch) and on a slow poll, which
// also covers file systems where inotify does not fire and missed events.
import { watch, type FSWatcher } from 'node:fs';

export interface WaitForOptions {
  /** Directory whose changes trigger a re-check. */
  dir?: string;
  pollMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Used in the timeout error: what was awaited. */
  what?: string;
}

export function waitFor<T>(check: () => Promise<T | undefined>, opts: WaitForOptions = {}): Promise<T> {
  const pollMs = opts.pollMs ?? 500;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let running = false;
    let again = false;
    let watcher: FSWatcher | undefined;
    let timeout: NodeJS.Timeout | undefined;

    const finish = (err: unknown, value?: T): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      if (timeout) clearTimeout(timeout);
      watcher?.close();
      opts.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(value as T);
    };
    const run = (): void => {
      if (done) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      check().then(
        (value) => {
          running = false;
          if (value !== undefined) finish(undefined, value);
          else if (again) {
            again = false;
            run();
          }
        },
        (err: unknown) => {
          running = false;
          finish(err);
        },
      );
    };
    const onAbort = (): void => finish(opts.signal?.reason ?? new Error('aborted'));

    const poll = setInterval(run, pollMs);
    if (opts.timeoutMs !== undefined) {
      timeout = setTimeout(
        () => finish(new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'a condition'}`)),
        opts.timeoutMs,
      );
    }
    if (opts.signal) {
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    if (opts.dir !== undefined) {
      try {
        watcher = watch(opts.dir, { persistent: false }, () => run());
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        watcher = undefined; // no inotify (or no dir yet): the poll covers it
      }
    }
    run();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// Callers blocked in WaitTask (and stop/remove) until a process exits.
import type { ExitInfo } from '../records.js';

const keyOf = (containerId: string, execId: string) => `${containerId}/${execId}`;

export class ExitWaiters {
  private readonly waiting = new Map<string, Set<(exit: ExitInfo) => void>>();

  /** Resolves with the next exit of the process; rejects when `signal` aborts. */
  next(containerId: string, execId: string, signal?: AbortSignal): Promise<ExitInfo> {
    const key = keyOf(containerId, execId);
    return new Promise<ExitInfo>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const set = this.waiting.get(key) ?? new Set();
      this.waiting.set(key, set);
      const onAbort = () => {
        set.delete(done);
        if (set.size === 0) this.waiting.delete(key);
        reject(signal?.reason ?? new Error('aborted'));
      };
      const done = (exit: ExitInfo) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(exit);
      };
      set.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes every caller waiting for this process. */
  resolve(containerId: string, execId: string, exit: ExitInfo): void {
    const key = keyOf(containerId, execId);
    const set = this.waiting.get(key);
    if (!set) return;
    this.waiting.delete(key);
    for (const done of set) done(exit);
  }

  /** Wakes every caller waiting for any process of the container (it was removed). */
  resolveAll(containerId: string, exit: ExitInfo): void {
    for (const key of [...this.waiting.keys()]) {
      if (key.startsWith(`${containerId}/`)) {
        const set = this.waiting.get(key)!;
        this.waiting.delete(key);
        for (const done of set) done(exit);
      }
    }
  }
}

// An in-process keyed mutex: callers for the same key run one at a time, in
// arrival order; different keys do not wait for each other.

export type Release = () => void;

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly held = new Set<string>();

  /** Resolves with a release function once the key is free. Aborting the signal stops the wait. */
  async acquire(key: string, signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await waitOrAbort(previous, signal);
    } catch (err) {
      // Give our turn away as soon as we would have got it, so later waiters are not stuck.
      void previous.then(() => this.finish(key, tail, release));
      throw err;
    }
    this.held.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.finish(key, tail, release);
    };
  }

  /** True while someone holds `key`. */
  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  /** True while someone holds or waits for `key` (a caller that must not queue checks this first). */
  isBusy(key: string): boolean {
    return this.tails.has(key);
  }

  private finish(key: string, tail: Promise<void>, release: () => void): void {
    if (this.tails.get(key) === tail) {
      this.tails.delete(key);
      this.held.delete(key);
    }
    release();
  }
}

function waitOrAbort(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      reject,
    );
  });
}

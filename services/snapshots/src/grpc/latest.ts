/**
 * The latest of a series of values, read by one consumer: a fast producer
 * (bytes read) never queues messages for a slow consumer (a gRPC stream),
 * which only ever sees the newest value.
 */
export class Latest<T> {
  private value: T | undefined;
  private wake: (() => void) | undefined;

  set(value: T): void {
    this.value = value;
    this.wake?.();
  }

  /** Values as they change, until `work` settles (its outcome is the caller's to await). */
  async *until(work: Promise<unknown>): AsyncGenerator<T> {
    let settled = false;
    void work.then(
      () => ((settled = true), this.wake?.()),
      () => ((settled = true), this.wake?.()),
    );
    for (;;) {
      if (this.value !== undefined) {
        const v = this.value;
        this.value = undefined;
        yield v;
        continue;
      }
      if (settled) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

// A queue that callbacks push into and one consumer iterates: how work that
// reports through callbacks (a pull's progress) becomes a server stream.
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake();
  }

  /** No more items: the iteration ends once the queued ones are taken. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The iteration throws `error` once the queued items are taken. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.ended = true;
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

/** An AbortSignal that fires when the client cancels the call (or it is otherwise torn down). */
export function cancellation(call: { on(event: 'cancelled', listener: () => void): unknown; cancelled: boolean }): AbortController {
  const controller = new AbortController();
  const onCancel = () => controller.abort(Object.assign(new Error('the client cancelled the call'), { name: 'AbortError' }));
  if (call.cancelled) onCancel();
  else call.on('cancelled', onCancel);
  return controller;
}

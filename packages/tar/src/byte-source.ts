import { TarTruncatedError } from './errors.js';

/** What a read is for, in an error message; a function when building the text costs (it is needed only on failure). */
export type ReadPurpose = string | (() => string);

const describe = (what: ReadPurpose): string => (typeof what === 'function' ? what() : what);

/**
 * Pull-based reader over an async stream of chunks: exact reads for headers,
 * zero-copy slices for entry data. Every byte pulled goes through `tap`, so
 * a caller can hash the whole stream, trailing bytes included.
 */
export class ByteSource {
  private chunks: Buffer[] = [];
  private head = 0;
  private avail = 0;
  private ended = false;
  /** Bytes handed out (or skipped) so far: the stream offset of the next read. */
  offset = 0;

  constructor(
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly tap?: (chunk: Buffer) => void,
  ) {}

  static from(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, tap?: (chunk: Buffer) => void): ByteSource {
    const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : fromSync(source[Symbol.iterator]());
    return new ByteSource(it, tap);
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      const v = r.value;
      const chunk = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (chunk.length === 0) continue;
      this.tap?.(chunk);
      this.chunks.push(chunk);
      this.avail += chunk.length;
      return true;
    }
  }

  private async ensure(n: number): Promise<boolean> {
    while (this.avail < n) if (!(await this.pull())) return false;
    return true;
  }

  /** Up to `max` bytes as a slice of one chunk (no copy); empty at end of stream. */
  private async slice(max: number): Promise<Buffer> {
    if (this.avail === 0 && !(await this.pull())) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    const n = Math.min(max, first.length - this.head);
    const out = first.subarray(this.head, this.head + n);
    this.consume(n);
    return out;
  }

  private consume(n: number): void {
    this.avail -= n;
    this.offset += n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Exactly n bytes; null at a clean end of stream; TarTruncatedError if it ends part-way. */
  async readExact(n: number, what = `${n}-byte read`): Promise<Buffer | null> {
    if (!(await this.ensure(n))) {
      if (this.avail === 0) return null;
      throw new TarTruncatedError(`truncated tar archive: the stream ends after ${this.offset + this.avail} bytes, inside a ${what} at offset ${this.offset}`, {
        offset: this.offset,
      });
    }
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const part = await this.slice(n - filled);
      part.copy(out, filled);
      filled += part.length;
    }
    return out;
  }

  /** Yields exactly n bytes as slices; TarTruncatedError (naming `what`) if the stream ends first. */
  async *read(n: number, what: ReadPurpose = 'data'): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const part = await this.slice(Math.min(left, 1 << 20));
      if (part.length === 0) {
        throw new TarTruncatedError(`truncated tar archive: the stream ends after ${this.offset} bytes, ${left} bytes short of ${describe(what)}`, {
          offset: this.offset,
        });
      }
      left -= part.length;
      yield part;
    }
  }

  async skip(n: number, what?: ReadPurpose): Promise<void> {
    const buffered = Math.min(n, this.avail);
    this.consume(buffered); // most skips (padding) are within what is buffered: no generator for them
    if (buffered === n) return;
    for await (const _ of this.read(n - buffered, what)) {
      // discard
    }
  }

  /** Stops reading: ends the underlying iterator (closing files and decompressors behind it). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.it.return?.();
  }

  /** Consumes everything left; returns how many bytes that was. */
  async drain(): Promise<number> {
    let n = this.avail;
    this.consume(this.avail);
    while (await this.pull()) {
      n += this.avail;
      this.consume(this.avail);
    }
    return n;
  }
}

function fromSync(it: Iterator<Uint8Array>): AsyncIterator<Uint8Array> {
  return {
    next: async () => it.next(),
    return: async () => it.return?.() ?? { done: true, value: undefined },
  };
}

// Verification of content against an expected digest and size: for whole
// buffers, and as a pass-through stream for blobs too large to buffer.
import { Transform, type TransformCallback } from 'node:stream';
import { Digester, digestOf, parseDigest, type Digest } from './digest.js';
import { DigestMismatchError, SizeMismatchError } from './errors.js';

/**
 * Checks that `bytes` hash to `expected` (with the algorithm `expected` names).
 * Throws InvalidDigestError for a malformed `expected`, DigestMismatchError otherwise.
 */
export function verifyDigest(bytes: Uint8Array | string, expected: string): Digest {
  const want = parseDigest(expected);
  const actual = digestOf(bytes, want.algorithm);
  if (actual !== want.digest) throw new DigestMismatchError(want.digest, actual);
  return actual;
}

export interface VerifyStreamOptions {
  /**
   * A digester already fed with the bytes that precede this stream (for
   * resuming an interrupted download); its size counts towards expectedSize.
   */
  resumeFrom?: Digester;
}

/**
 * A pass-through stream that hashes and counts what flows through it. It
 * fails as soon as more than `expectedSize` bytes arrive, and at the end if
 * the size is short or the digest differs; only then does it finish cleanly.
 */
export class VerifyStream extends Transform {
  readonly expectedDigest: Digest;
  readonly expectedSize: number | undefined;
  private readonly digester: Digester;

  constructor(expectedDigest: string, expectedSize?: number, options: VerifyStreamOptions = {}) {
    super();
    const want = parseDigest(expectedDigest);
    if (expectedSize !== undefined && !(Number.isSafeInteger(expectedSize) && expectedSize >= 0)) {
      throw new RangeError(`expectedSize must be a non-negative integer, got ${expectedSize}`);
    }
    if (options.resumeFrom && options.resumeFrom.algorithm !== want.algorithm) {
      throw new Error(
        `resumeFrom digester uses ${options.resumeFrom.algorithm}, expected digest uses ${want.algorithm}`,
      );
    }
    this.expectedDigest = want.digest;
    this.expectedSize = expectedSize;
    this.digester = options.resumeFrom ?? new Digester(want.algorithm);
    if (expectedSize !== undefined && this.digester.size > expectedSize) {
      throw new SizeMismatchError(expectedSize, this.digester.size, 'already before the stream started');
    }
  }

  /** Bytes seen so far, including any resumed prefix. */
  get bytesSeen(): number {
    return this.digester.size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const seen = this.digester.size + chunk.byteLength;
    if (this.expectedSize !== undefined && seen > this.expectedSize) {
      callback(new SizeMismatchError(this.expectedSize, seen, '(or more): more bytes than expected'));
      return;
    }
    this.digester.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedSize !== undefined && this.digester.size !== this.expectedSize) {
      callback(new SizeMismatchError(this.expectedSize, this.digester.size, '(stream ended early)'));
      return;
    }
    const actual = this.digester.digest();
    if (actual !== this.expectedDigest) {
      callback(new DigestMismatchError(this.expectedDigest, actual));
      return;
    }
    callback();
  }
}

/** Creates a VerifyStream; see there. Throws synchronously for a malformed expected digest. */
export function createVerifyStream(
  expectedDigest: string,
  expectedSize?: number,
  options?: VerifyStreamOptions,
): VerifyStream {
  return new VerifyStream(expectedDigest, expectedSize, options);
}

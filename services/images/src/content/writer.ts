// One ingest: bytes appended to <ingest>/data while hashing, then verified and
// renamed into blobs/ by commit(). A writer holds its ref's lock from open to
// commit/close/abort, so concurrent writers to one ref run one after another.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Digester, type Digest } from '@berth/oci';
import { ImagesError, failedPrecondition } from '../errors.js';
import type { Labels } from '../labels.js';
import type { ContentInfo } from './types.js';

/** The size or digest of what was written differs from what was expected; the ingest is gone. */
export class ContentMismatchError extends ImagesError {
  constructor(
    readonly ref: string,
    readonly kind: 'digest' | 'size',
    readonly expected: string | number,
    readonly actual: string | number,
  ) {
    super(
      'DATA_LOSS',
      `content ${JSON.stringify(ref)}: ${kind} mismatch: expected ${expected}, got ${actual}; the ingest was discarded`,
    );
  }
}

/** What the store gives a writer: where to put the blob and how to record it. */
export interface WriterHost {
  /** Moves the verified data file into blobs/ (or drops it when the blob exists) and records it. */
  commitFile(
    dataPath: string,
    digest: Digest,
    size: number,
    labels: Labels | undefined,
    onCommit: ((digest: Digest) => void) | undefined,
  ): ContentInfo;
}

export interface CommitOptions {
  /** Expected total size; defaults to the writer's `total`. */
  size?: number;
  /** Expected digest; defaults to the writer's `expected`. */
  expected?: Digest;
  /** Labels merged into the content record. */
  labels?: Labels;
  /**
   * Called with the verified digest just before the blob becomes visible, in
   * the same synchronous step: the place to add it to a lease when the digest
   * was not known in advance, so no GC can run in between.
   */
  onCommit?: (digest: Digest) => void;
}

export class ContentWriter {
  private closed = false;

  /** @internal created by ContentStore.writer() */
  constructor(
    readonly ref: string,
    private readonly dir: string,
    private readonly fh: FileHandle,
    private hasher: Digester,
    private written: number,
    readonly expected: Digest | undefined,
    readonly total: number | undefined,
    private readonly labels: Labels | undefined,
    private readonly host: WriterHost,
    private readonly release: () => void,
  ) {}

  /** Bytes in the ingest so far (where a resumed transfer continues). */
  get offset(): number {
    return this.written;
  }

  /** Appends a chunk. Writing past a known total discards the ingest and throws. */
  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.total !== undefined && this.written + chunk.byteLength > this.total) {
      const actual = this.written + chunk.byteLength;
      await this.discard();
      throw new ContentMismatchError(this.ref, 'size', this.total, `at least ${actual} bytes`);
    }
    let off = 0;
    while (off < chunk.byteLength) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.byteLength - off);
      off += bytesWritten;
    }
    this.hasher.update(chunk);
    this.written += chunk.byteLength;
  }

  /** Drops everything written so far and starts again at offset 0 (e.g. a server ignored Range). */
  async truncate(): Promise<void> {
    this.assertOpen();
    await this.fh.truncate(0);
    this.hasher = new Digester(this.hasher.algorithm);
    this.written = 0;
  }

  /**
   * Verifies size and digest, fsyncs and renames the data into blobs/ (the
   * same digest committed twice is not an error: the existing blob is kept).
   * On a mismatch the ingest is deleted and a ContentMismatchError thrown.
   */
  async commit(opts: CommitOptions = {}): Promise<ContentInfo> {
    this.assertOpen();
    const size = opts.size ?? this.total;
    const expected = opts.expected ?? this.expected;
    if (size !== undefined && size !== this.written) {
      await this.discard();
      throw new ContentMismatchError(this.ref, 'size', size, this.written);
    }
    const actual = this.hasher.digest();
    if (expected !== undefined && expected !== actual) {
      await this.discard();
      throw new ContentMismatchError(this.ref, 'digest', expected, actual);
    }
    await this.fh.sync();
    await this.fh.close();
    this.closed = true;
    try {
      const labels = opts.labels || this.labels ? { ...this.labels, ...opts.labels } : undefined;
      const info = this.host.commitFile(join(this.dir, 'data'), actual, this.written, labels, opts.onCommit);
      await rm(this.dir, { recursive: true, force: true });
      return info;
    } finally {
      this.release();
    }
  }

  /** Releases the lock and keeps the ingest, so a later writer for the same ref resumes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh.sync();
      await this.fh.close();
    } finally {
      this.release();
    }
  }

  /** Deletes the ingest and releases the lock. */
  async abort(): Promise<void> {
    if (this.closed) return;
    await this.discard();
  }

  private async discard(): Promise<void> {
    this.closed = true;
    try {
      await this.fh.close().catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true });
    } finally {
      this.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw failedPrecondition(`content writer ${JSON.stringify(this.ref)} is closed`);
  }
}

/** Opens the data file of an ingest for appending and re-hashes what is already there. */
export async function openIngestData(
  dataPath: string,
  algorithm: Digester['algorithm'],
): Promise<{ fh: FileHandle; hasher: Digester; offset: number }> {
  const hasher = new Digester(algorithm);
  const fh = await open(dataPath, 'a', 0o600);
  try {
    const { size } = await fh.stat();
    if (size > 0) {
      for await (const chunk of createReadStream(dataPath, { end: size - 1 })) hasher.update(chunk as Buffer);
    }
    return { fh, hasher, offset: hasher.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

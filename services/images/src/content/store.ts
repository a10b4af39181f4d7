// The content store: verified blobs by digest on disk, their records (size,
// labels, times) in SQLite, and resumable ingests. Every blob in blobs/ was
// hashed on the way in; nothing unverified is ever renamed there.
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, chmodSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { DIGEST_ALGORITHMS, parseDigest, type Digest, type DigestAlgorithm } from '@berth/oci';
import { fsyncDir, writeFileAtomic, type Store } from '@berth/store';
import { invalidArgument, notFound, ImagesError } from '../errors.js';
import { parseLabels } from '../db.js';
import { applyLabels, validateLabels, type Labels } from '../labels.js';
import { KeyedMutex } from '../lock.js';
import { labelField, parseFilters } from '../filters.js';
import { blobPath, contentPaths, ingestPath, type ContentPaths } from './paths.js';
import { ContentWriter, openIngestData, type WriterHost } from './writer.js';
import type { ContentInfo, IngestStatus } from './types.js';

export interface WriterOptions {
  /** Digest the content must have; commit() fails (and discards the ingest) otherwise. */
  expected?: Digest;
  /** Size the content must have; writing past it or committing short fails. */
  total?: number;
  /** Labels to set on the content record at commit. */
  labels?: Labels;
  /** Stops waiting for the ref's lock. */
  signal?: AbortSignal;
  /** Fail with ABORTED instead of waiting when another writer holds (or waits for) the ref. */
  noWait?: boolean;
}

export interface ReadOptions {
  offset?: number;
  /** Bytes to read from offset; default: to the end. */
  length?: number;
  /** Bytes per chunk of the stream (default 64 KiB). */
  chunkSize?: number;
}

interface ContentRow {
  digest: string;
  size: number;
  labels: string;
  created_at: number;
  updated_at: number;
}

function rowToInfo(r: ContentRow): ContentInfo {
  return {
    digest: r.digest as Digest,
    size: r.size,
    labels: parseLabels(r.labels, `content ${r.digest}`),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export class ContentStore {
  readonly paths: ContentPaths;
  private readonly locks = new KeyedMutex();

  private constructor(
    root: string,
    private readonly db: Store,
  ) {
    this.paths = contentPaths(root);
  }

  /**
   * Opens the store under `root` with records in `db` (see openImagesDb).
   * Creates the directories and reconciles records with the blobs on disk
   * (a crash between rename and insert leaves a blob without a record).
   */
  static open(root: string, db: Store): ContentStore {
    const store = new ContentStore(root, db);
    for (const d of [store.paths.blobsDir, store.paths.ingestDir, store.paths.tmpDir]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
    }
    store.reconcile();
    return store;
  }

  /** The record of a committed blob; NOT_FOUND when absent. */
  info(digest: Digest): ContentInfo {
    const row = this.row(digest);
    if (!row) throw notFound(`content ${digest} not found`);
    return rowToInfo(row);
  }

  has(digest: Digest): boolean {
    return this.row(digest) !== undefined;
  }

  /**
   * Committed blobs matching containerd-style filters over `digest`, `size`
   * and `labels.<key>` (e.g. `labels."berth.io/gc.root"`); no filter lists all.
   */
  list(filters: readonly string[] = []): ContentInfo[] {
    const filter = parseFilters(filters);
    const rows = this.db.prepare('SELECT * FROM content ORDER BY digest').all() as ContentRow[];
    return rows.map(rowToInfo).filter((info) =>
      filter.matches((path) => {
        if (path[0] === 'labels') return labelField(info.labels, path);
        if (path.length !== 1) return undefined;
        if (path[0] === 'digest') return info.digest;
        if (path[0] === 'size') return String(info.size);
        return undefined;
      }),
    );
  }

  /** Where a committed blob lives (for readers that need a path, e.g. unpacking). */
  blobPath(digest: Digest): string {
    return blobPath(this.paths, digest);
  }

  /** Streams a committed blob, or a byte range of it. */
  readStream(digest: Digest, opts: ReadOptions = {}): Readable {
    const info = this.info(digest);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > info.size) {
      throw invalidArgument(`read of ${digest}: offset ${offset} is outside 0..${info.size}`);
    }
    const length = opts.length ?? info.size - offset;
    if (!Number.isSafeInteger(length) || length < 0 || offset + length > info.size) {
      throw invalidArgument(`read of ${digest}: length ${length} from offset ${offset} runs past size ${info.size}`);
    }
    const highWaterMark = opts.chunkSize ?? 64 * 1024;
    if (length === 0) return createReadStream(this.blobPath(digest), { start: 0, end: -1, highWaterMark });
    return createReadStream(this.blobPath(digest), { start: offset, end: offset + length - 1, highWaterMark });
  }

  /** Reads a whole blob into memory, refusing blobs over `maxBytes`. */
  async readBytes(digest: Digest, maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
    const info = this.info(digest);
    if (info.size > maxBytes) {
      throw new ImagesError('RESOURCE_EXHAUSTED', `content ${digest} is ${info.size} bytes, over the ${maxBytes}-byte limit for reading into memory`);
    }
    return readFile(this.blobPath(digest));
  }

  /** Synchronous readBytes, for the GC's mark phase (which must not interleave with commits). */
  readBytesSync(digest: Digest): Buffer {
    return readFileSync(this.blobPath(digest));
  }

  /** Deletes a blob and its record; NOT_FOUND when absent. */
  delete(digest: Digest): ContentInfo {
    const info = this.info(digest);
    this.deleteSync(digest);
    return info;
  }

  /** @internal removal used by delete() and the GC sweep; synchronous so it cannot interleave with a commit. */
  deleteSync(digest: Digest): void {
    const path = this.blobPath(digest);
    rmSync(path, { force: true });
    this.db.prepare('DELETE FROM content WHERE digest = ?').run(digest);
    fsyncDir(dirname(path));
  }

  /**
   * Updates a blob's labels: merged by default (an empty value removes a key),
   * or replaced wholesale with `replace`. Returns the new record.
   */
  updateLabels(digest: Digest, labels: Labels, opts: { replace?: boolean } = {}): ContentInfo {
    validateLabels(labels, `content ${digest}`);
    const tx = this.db.transaction(() => {
      const info = this.info(digest);
      const next = applyLabels(info.labels, labels, opts.replace === true);
      this.db
        .prepare('UPDATE content SET labels = ?, updated_at = ? WHERE digest = ?')
        .run(JSON.stringify(next), Date.now(), digest);
      return this.info(digest);
    });
    return tx();
  }

  /**
   * Opens (or resumes) the ingest `ref`. Waits while another writer holds the
   * same ref. A resumed ingest continues at `writer.offset` with its prefix
   * re-hashed; one whose expected digest or size differs starts over.
   */
  async writer(ref: string, opts: WriterOptions = {}): Promise<ContentWriter> {
    if (ref.length === 0) throw invalidArgument('content writer: ref must not be empty');
    const algorithm: DigestAlgorithm = opts.expected ? parseDigest(opts.expected).algorithm : 'sha256';
    if (opts.total !== undefined && (!Number.isSafeInteger(opts.total) || opts.total < 0)) {
      throw invalidArgument(`content writer ${JSON.stringify(ref)}: total ${opts.total} is not a valid size`);
    }
    if (opts.labels) validateLabels(opts.labels, `content writer ${JSON.stringify(ref)}`);
    // Checked and acquired in one synchronous step: no other writer can slip in between.
    if (opts.noWait && this.locks.isBusy(ref)) {
      throw new ImagesError('ABORTED', `ingest ${JSON.stringify(ref)} is locked by another writer`);
    }
    const release = await this.locks.acquire(ref, opts.signal);
    try {
      const dir = ingestPath(this.paths, ref);
      const previous = await this.readIngestMeta(dir);
      const reusable =
        previous !== undefined &&
        previous.ref === ref &&
        previous.expected === opts.expected &&
        previous.total === opts.total;
      if (!reusable) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true, mode: 0o700 });
        if (opts.expected) writeFileAtomic(join(dir, 'expected'), opts.expected, 0o600);
        if (opts.total !== undefined) writeFileAtomic(join(dir, 'total'), String(opts.total), 0o600);
        writeFileAtomic(join(dir, 'startedat'), String(Date.now()), 0o600);
        // `ref` last: an ingest directory without it is a half-created one that cleanup removes.
        writeFileAtomic(join(dir, 'ref'), ref, 0o600);
      }
      let { fh, hasher, offset } = await openIngestData(join(dir, 'data'), algorithm);
      if (opts.total !== undefined && offset > opts.total) {
        // More bytes than the content can have: they cannot be a prefix of it.
        await fh.close();
        await rm(join(dir, 'data'), { force: true });
        ({ fh, hasher, offset } = await openIngestData(join(dir, 'data'), algorithm));
      }
      const host: WriterHost = {
        commitFile: (data, digest, size, labels, onCommit) => this.commitFile(data, digest, size, labels, onCommit),
      };
      return new ContentWriter(ref, dir, fh, hasher, offset, opts.expected, opts.total, opts.labels, host, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Convenience: writes a whole buffer under `ref` and commits it. */
  async writeBytes(ref: string, bytes: Uint8Array, opts: Omit<WriterOptions, 'total'> = {}): Promise<ContentInfo> {
    const w = await this.writer(ref, { ...opts, total: bytes.byteLength });
    try {
      if (w.offset > 0) await w.truncate();
      await w.write(bytes);
      return await w.commit();
    } finally {
      await w.close();
    }
  }

  /** Active and interrupted ingests, optionally only those whose ref matches `refPrefix`. */
  async statuses(refPrefix = ''): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    for (const name of readdirSync(this.paths.ingestDir)) {
      const dir = join(this.paths.ingestDir, name);
      const meta = await this.readIngestMeta(dir);
      if (!meta || !meta.ref.startsWith(refPrefix)) continue;
      let offset = 0;
      let updatedAt = meta.startedAt;
      try {
        const st = await stat(join(dir, 'data'));
        offset = st.size;
        updatedAt = st.mtime;
      } catch {
        // No data yet: the writer is between creating the directory and opening the file.
      }
      out.push({ ...meta, offset, updatedAt, active: this.locks.isHeld(meta.ref) });
    }
    return out.sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /** The status of one ingest; NOT_FOUND when there is none. */
  async status(ref: string): Promise<IngestStatus> {
    const st = (await this.statuses(ref)).find((s) => s.ref === ref);
    if (!st) throw notFound(`no ingest with ref ${JSON.stringify(ref)}`);
    return st;
  }

  /** Deletes an ingest (waiting for its writer, if any, to let go); NOT_FOUND when there is none. */
  async abort(ref: string): Promise<void> {
    const release = await this.locks.acquire(ref);
    try {
      const dir = ingestPath(this.paths, ref);
      if (!existsSync(dir)) throw notFound(`no ingest with ref ${JSON.stringify(ref)}`);
      await rm(dir, { recursive: true, force: true });
    } finally {
      release();
    }
  }

  /**
   * Removes ingests not written to for `maxAgeMs` and not held by a writer,
   * plus half-created ingest directories. Returns the refs (or directory
   * names) removed. Run at start with a generous age so interrupted pulls can
   * still resume; safe to run at any time (prune does).
   */
  async cleanupStaleIngests(maxAgeMs: number): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = Date.now() - maxAgeMs;
    for (const name of readdirSync(this.paths.ingestDir)) {
      const dir = join(this.paths.ingestDir, name);
      const meta = await this.readIngestMeta(dir);
      if (meta && this.locks.isHeld(meta.ref)) continue;
      let last = 0;
      try {
        last = statSync(join(dir, 'data')).mtimeMs;
      } catch {
        last = meta?.startedAt.getTime() ?? 0;
      }
      // Age 0 means every idle ingest: an mtime in the current millisecond must not spare it.
      if (meta && maxAgeMs > 0 && last >= cutoff) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(meta?.ref ?? name);
    }
    return removed;
  }

  /** Ingests cleanupStaleIngests(maxAgeMs) would remove, without removing them (a dry run). */
  async staleIngests(maxAgeMs: number): Promise<string[]> {
    const cutoff = Date.now() - maxAgeMs;
    return (await this.statuses()).filter((s) => !s.active && (maxAgeMs <= 0 || s.updatedAt.getTime() < cutoff)).map((s) => s.ref);
  }

  /**
   * Removes the temp files of exports a crash left behind. Only at open: a
   * running export keeps its scratch files there.
   */
  clearTmp(): void {
    for (const name of readdirSync(this.paths.tmpDir)) rmSync(join(this.paths.tmpDir, name), { recursive: true, force: true });
  }

  /** Expected digests of all ingests (the GC keeps blobs an ingest is about to commit). */
  ingestingDigestsSync(): Set<string> {
    const out = new Set<string>();
    for (const name of readdirSync(this.paths.ingestDir)) {
      try {
        out.add(readFileSync(join(this.paths.ingestDir, name, 'expected'), 'utf8'));
      } catch {
        // No expected digest recorded: nothing to protect.
      }
    }
    return out;
  }

  /** Every committed digest (from the records). */
  allDigests(): Digest[] {
    return (this.db.prepare('SELECT digest FROM content').all() as { digest: string }[]).map((r) => r.digest as Digest);
  }

  private row(digest: Digest): ContentRow | undefined {
    parseDigest(digest);
    return this.db.prepare('SELECT * FROM content WHERE digest = ?').get(digest) as ContentRow | undefined;
  }

  /** Rename + record in one synchronous step, so a GC sweep never sees one without the other. */
  private commitFile(
    dataPath: string,
    digest: Digest,
    size: number,
    labels: Labels | undefined,
    onCommit: ((digest: Digest) => void) | undefined,
  ): ContentInfo {
    const target = this.blobPath(digest);
    const now = Date.now();
    onCommit?.(digest);
    if (existsSync(target)) {
      rmSync(dataPath, { force: true });
    } else {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      chmodSync(dataPath, 0o444);
      renameSync(dataPath, target);
      fsyncDir(dirname(target));
    }
    const existing = this.row(digest);
    if (existing) {
      if (labels && Object.keys(labels).length > 0) {
        const merged = applyLabels(parseLabels(existing.labels, `content ${digest}`), labels, false);
        this.db.prepare('UPDATE content SET labels = ?, updated_at = ? WHERE digest = ?').run(JSON.stringify(merged), now, digest);
      }
    } else {
      this.db
        .prepare('INSERT INTO content (digest, size, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(digest, size, JSON.stringify(labels ?? {}), now, now);
    }
    return this.info(digest);
  }

  private async readIngestMeta(
    dir: string,
  ): Promise<{ ref: string; expected?: Digest; total?: number; startedAt: Date } | undefined> {
    const read = async (f: string) => readFile(join(dir, f), 'utf8').catch(() => undefined);
    const ref = await read('ref');
    if (ref === undefined) return undefined;
    const expected = await read('expected');
    const total = await read('total');
    const startedAt = await read('startedat');
    return {
      ref,
      ...(expected !== undefined ? { expected: expected as Digest } : {}),
      ...(total !== undefined ? { total: Number(total) } : {}),
      startedAt: new Date(startedAt !== undefined ? Number(startedAt) : 0),
    };
  }

  /** Makes the records match blobs/: add records for unrecorded blobs, drop records of missing ones. */
  private reconcile(): void {
    const onDisk = new Map<string, number>();
    for (const algorithm of DIGEST_ALGORITHMS) {
      const dir = join(this.paths.blobsDir, algorithm);
      if (!existsSync(dir)) continue;
      for (const hex of readdirSync(dir)) {
        const path = join(dir, hex);
        let digest: Digest;
        try {
          digest = parseDigest(`${algorithm}:${hex}`).digest;
        } catch {
          rmSync(path, { recursive: true, force: true }); // not a blob name: a leftover
          continue;
        }
        onDisk.set(digest, statSync(path).size);
      }
    }
    const now = Date.now();
    this.db.transaction(() => {
      const recorded = new Set(this.allDigests());
      for (const digest of recorded) {
        if (!onDisk.has(digest)) this.db.prepare('DELETE FROM content WHERE digest = ?').run(digest);
      }
      for (const [digest, size] of onDisk) {
        if (!recorded.has(digest as Digest)) {
          this.db
            .prepare('INSERT INTO content (digest, size, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
            .run(digest, size, '{}', now, now);
        }
      }
    })();
  }
}

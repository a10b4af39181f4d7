import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { PassThrough, Transform, Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { fsyncDir } from '@berth/store';
import { mountAll, unmountUnder } from '@berth/mount';
import { CompressionError, TarWriter, compressor, type WriteEntry } from '@berth/tar';
import { SnapshotError } from './errors.js';
import { FsHelper } from './fsops/helper.js';
import type { Snapshotter } from './snapshotter.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './apply/paths.js';
import { treeChanges, upperChanges, type Change } from './diff/changes.js';
import type { DiffSource } from './drivers/driver.js';

export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export interface DiffOptions {
  /** Write the layer to this file (atomically); without it the layer is returned in memory. */
  outputPath?: string;
  /** Default gzip; zstd runs the zstd program. */
  compression?: 'gzip' | 'zstd' | 'none';
  /** Compare against this snapshot instead of the snapshot's own parent. */
  parent?: string;
  /** zlib level, default 6. */
  gzipLevel?: number;
}

export interface DiffResult {
  /** sha256 of the uncompressed tar (the image config's diff_id). */
  diffId: string;
  /** sha256 of the blob as written (the manifest's layer digest). */
  digest: string;
  /** Blob size in bytes. */
  size: number;
  mediaType: string;
  path?: string;
  data?: Buffer;
}

/** Device numbers from st_rdev (glibc's 64-bit encoding). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

const parentOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '');
const baseOf = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);

function hashTap(hash: Hash, count?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      count?.(chunk.length);
      done(null, chunk);
    },
  });
}

/**
 * Writes change records as tar members. Times are whole seconds (as Docker
 * and containerd write them, for reproducible layers); hardlinked inodes are
 * stored once, later names as hardlinks to the first.
 */
async function writeChanges(changes: AsyncIterable<Change>, tar: TarWriter): Promise<void> {
  const linked = new Map<string, string>();
  for await (const c of changes) {
    if (c.kind === 'whiteout') {
      await tar.add({ name: `${parentOf(c.rel)}${WHITEOUT_PREFIX}${baseOf(c.rel)}`, type: 'file', mode: 0, size: 0, mtime: 0 });
      continue;
    }
    if (c.kind === 'opaque') {
      await tar.add({ name: `${c.rel}/${WHITEOUT_OPAQUE}`, type: 'file', mode: 0, size: 0, mtime: 0 });
      continue;
    }
    const st = c.st;
    const base: WriteEntry = {
      name: c.type === 'dir' ? `${c.rel}/` : c.rel,
      type: c.type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtime: Number(st.mtimeMs / 1000n),
      xattrs: c.xattrs,
    };
    if (c.type !== 'dir' && st.nlink > 1n) {
      const inode = `${st.dev}:${st.ino}`;
      const first = linked.get(inode);
      if (first !== undefined) {
        await tar.add({ ...base, type: 'hardlink', linkname: first, xattrs: new Map() });
        continue;
      }
      linked.set(inode, c.rel);
    }
    if (c.type === 'file') {
      await tar.add({ ...base, size: Number(st.size) }, createReadStream(c.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
    } else if (c.type === 'symlink') {
      await tar.add({ ...base, linkname: c.linkname ?? '' });
    } else if (c.type === 'char' || c.type === 'block') {
      const { major, minor } = splitDev(st.rdev);
      await tar.add({ ...base, devmajor: major, devminor: minor });
    } else {
      await tar.add(base);
    }
  }
}

/**
 * The OCI layer (tar, gzip by default) holding a snapshot's changes against
 * its parent: overlay reads the upper dir, native compares the trees.
 * Whiteouts and opaque directories are written the OCI way. With another
 * `parent`, both snapshots are mounted read-only and their trees compared.
 */
export async function diffSnapshot(sn: Snapshotter, key: string, opts: DiffOptions = {}): Promise<DiffResult> {
  const own = await sn.stat(key);
  if (opts.parent === undefined || opts.parent === '' || opts.parent === own.parent) {
    return writeLayer(sn.diffSource(key), key, opts);
  }
  const base = await sn.stat(opts.parent);
  return withMountedPair(sn, key, base.key, (dir, baseDir) => writeLayer({ mode: 'compare', dir, base: baseDir }, key, opts));
}

/** Mounts read-only views of two snapshots on fresh mount points for the duration of `fn`. */
async function withMountedPair<T>(sn: Snapshotter, key: string, base: string, fn: (dir: string, baseDir: string) => Promise<T>): Promise<T> {
  const scratch = sn.mountScratchDir();
  const dir = join(scratch, 'snapshot');
  const baseDir = join(scratch, 'base');
  mkdirSync(dir);
  mkdirSync(baseDir);
  try {
    await mountAll(sn.readonlyMounts(key), dir);
    await mountAll(sn.readonlyMounts(base), baseDir);
    return await fn(dir, baseDir);
  } finally {
    await unmountUnder(scratch);
    rmSync(scratch, { recursive: true, force: true });
  }
}

const MEDIA_TYPES = { gzip: MEDIA_TYPE_LAYER_GZIP, zstd: MEDIA_TYPE_LAYER_ZSTD, none: MEDIA_TYPE_LAYER_TAR } as const;

async function writeLayer(source: DiffSource, key: string, opts: DiffOptions): Promise<DiffResult> {
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const chunks: Buffer[] = [];
  const tmp = opts.outputPath ? join(dirname(opts.outputPath), `.tmp-berth-${basename(opts.outputPath)}.${randomBytes(6).toString('hex')}`) : undefined;
  const sink: Writable = tmp
    ? createWriteStream(tmp, { mode: 0o644, flush: true })
    : new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      });
  const compression = opts.compression ?? 'gzip';
  const compress = compressor(compression, compression === 'gzip' ? { level: opts.gzipLevel ?? 6 } : {});
  const tarStream = new PassThrough({ highWaterMark: 1 << 20 });
  const stages: (Readable | Duplex | Writable)[] = [tarStream, hashTap(diffHash), compress.stream, hashTap(blobHash, (n) => (size += n)), sink];
  const done = Promise.all([pipeline(stages as [Readable, ...Duplex[], Writable]), compress.done]);
  const helper = new FsHelper();
  const tar = new TarWriter(async (chunk) => {
    if (!tarStream.write(chunk)) await Promise.race([once(tarStream, 'drain'), done]);
  });
  try {
    const changes = source.mode === 'upper' ? upperChanges(source.dir, helper) : treeChanges(source.dir, source.base, helper);
    await writeChanges(changes, tar);
    await tar.finish();
    tarStream.end();
    await done;
  } catch (err) {
    tarStream.destroy(err as Error);
    compress.kill();
    await done.catch(() => undefined);
    if (tmp) rmSync(tmp, { force: true });
    if (err instanceof SnapshotError) throw err;
    if (err instanceof CompressionError && err.reason === 'unavailable') throw new SnapshotError('failed_precondition', err.message, { cause: err });
    throw new SnapshotError('internal', `diff of snapshot ${JSON.stringify(key)} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await helper.close();
  }
  const result: DiffResult = {
    diffId: `sha256:${diffHash.digest('hex')}`,
    digest: `sha256:${blobHash.digest('hex')}`,
    size,
    mediaType: MEDIA_TYPES[compression],
  };
  if (tmp && opts.outputPath) {
    renameSync(tmp, opts.outputPath);
    fsyncDir(dirname(opts.outputPath));
    return { ...result, path: opts.outputPath };
  }
  return { ...result, data: Buffer.concat(chunks) };
}

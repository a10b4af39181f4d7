import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { PassThrough, Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { fsyncDir } from '@berth/store';
import { SnapshotError } from './errors.js';
import { FsHelper } from './fsops/helper.js';
import type { Snapshotter } from './snapshotter.js';
import { TarWriter, type WriteEntry } from './tar/writer.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './apply/paths.js';
import { treeChanges, upperChanges, type Change } from './diff/changes.js';

export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface DiffOptions {
  /** Write the layer to this file (atomically); without it the layer is returned in memory. */
  outputPath?: string;
  /** Default gzip. */
  compression?: 'gzip' | 'none';
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
      name: c.rel,
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
 * Whiteouts and opaque directories are written the OCI way.
 */
export async function diffSnapshot(sn: Snapshotter, key: string, opts: DiffOptions = {}): Promise<DiffResult> {
  const source = sn.diffSource(key);
  const gzip = (opts.compression ?? 'gzip') === 'gzip';
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
  const tarStream = new PassThrough({ highWaterMark: 1 << 20 });
  const stages: (Readable | Transform | Writable)[] = [
    tarStream,
    hashTap(diffHash),
    ...(gzip ? [createGzip({ level: opts.gzipLevel ?? 6 })] : []),
    hashTap(blobHash, (n) => (size += n)),
    sink,
  ];
  const done = pipeline(stages as [Readable, ...Transform[], Writable]);
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
    await done.catch(() => undefined);
    if (tmp) rmSync(tmp, { force: true });
    throw new SnapshotError('internal', `diff of snapshot ${JSON.stringify(key)} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await helper.close();
  }
  const result: DiffResult = {
    diffId: `sha256:${diffHash.digest('hex')}`,
    digest: `sha256:${blobHash.digest('hex')}`,
    size,
    mediaType: gzip ? MEDIA_TYPE_LAYER_GZIP : MEDIA_TYPE_LAYER_TAR,
  };
  if (tmp && opts.outputPath) {
    renameSync(tmp, opts.outputPath);
    fsyncDir(dirname(opts.outputPath));
    return { ...result, path: opts.outputPath };
  }
  return { ...result, data: Buffer.concat(chunks) };
}

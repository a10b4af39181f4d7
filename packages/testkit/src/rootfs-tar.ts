// A directory tree as a layer tar: sorted walk, hardlinks detected by inode,
// devices and fifos kept, sockets skipped (tar cannot hold them), ownership
// and modes from the tree, one fixed mtime for reproducibility.
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeEntryHeader, endOfArchive, padding, type WriteEntry } from '@berth/tar';
import { FIXED_MTIME } from './tar.js';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/** The tar stream of everything under root (root itself excluded), names relative ('etc/passwd'). */
export async function* directoryTarChunks(root: string, opts: { mtime?: number } = {}): AsyncGenerator<Buffer> {
  const mtime = opts.mtime ?? FIXED_MTIME;
  const firstPathOfInode = new Map<string, string>();

  async function* walk(rel: string): AsyncGenerator<Buffer> {
    const names = (await readdir(join(root, rel))).sort(byteOrder);
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime };
      if (st.isDirectory()) {
        yield encodeEntryHeader({ name: `${path}/`, type: 'dir', ...base });
        yield* walk(path);
        continue;
      }
      let entry: WriteEntry | undefined;
      if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstPathOfInode.get(inode) : undefined;
        if (first !== undefined) {
          entry = { name: path, type: 'hardlink', linkname: first, ...base };
        } else {
          if (st.nlink > 1) firstPathOfInode.set(inode, path);
          yield* fileChunks(abs, { name: path, type: 'file', size: st.size, ...base });
          continue;
        }
      } else if (st.isSymbolicLink()) {
        entry = { name: path, type: 'symlink', linkname: await readlink(abs), ...base, mode: 0o777 };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        entry = { name: path, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major(st.rdev), devminor: minor(st.rdev), ...base };
      } else if (st.isFIFO()) {
        entry = { name: path, type: 'fifo', ...base };
      }
      if (entry) yield encodeEntryHeader(entry);
    }
  }

  yield* walk('');
  yield endOfArchive();
}

/** A regular file's header, content (streamed) and padding; a file that changes size meanwhile is an error. */
async function* fileChunks(abs: string, entry: WriteEntry & { size: number }): AsyncGenerator<Buffer> {
  yield encodeEntryHeader(entry);
  let read = 0;
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) {
    read += (chunk as Buffer).length;
    if (read > entry.size) break;
    yield chunk as Buffer;
  }
  if (read !== entry.size) throw new Error(`${abs} changed size while being archived (${entry.size} bytes when listed, ${read} read)`);
  yield padding(entry.size);
}

/** Writes directoryTarChunks(root) to a file. */
export async function writeDirectoryTar(root: string, tarFile: string, opts: { mtime?: number } = {}): Promise<void> {
  await pipeline(Readable.from(directoryTarChunks(root, opts)), createWriteStream(tarFile));
}

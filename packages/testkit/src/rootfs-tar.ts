// A directory tree as a layer tar: sorted walk, hardlinks detected by inode,
// devices and fifos kept, sockets skipped (tar cannot hold them), ownership
// and modes from the tree, one fixed mtime for reproducibility.
import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeTarEntry, endOfArchive, FIXED_MTIME, type RawTarEntry } from './tar.js';

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
      let entry: RawTarEntry | undefined;
      if (st.isDirectory()) {
        yield* encodeTarEntry({ name: `${path}/`, type: 'dir', ...base });
        yield* walk(path);
        continue;
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstPathOfInode.get(inode) : undefined;
        if (first !== undefined) {
          entry = { name: path, type: 'hardlink', linkname: first, ...base };
        } else {
          if (st.nlink > 1) firstPathOfInode.set(inode, path);
          entry = { name: path, type: 'file', content: await readFile(abs), ...base };
        }
      } else if (st.isSymbolicLink()) {
        entry = { name: path, type: 'symlink', linkname: await readlink(abs), ...base, mode: 0o777 };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        entry = {
          name: path,
          type: st.isCharacterDevice() ? 'char' : 'block',
          devmajor: major(st.rdev),
          devminor: minor(st.rdev),
          ...base,
        };
      } else if (st.isFIFO()) {
        entry = { name: path, type: 'fifo', ...base };
      }
      if (entry) yield* encodeTarEntry(entry);
    }
  }

  yield* walk('');
  yield endOfArchive();
}

/** Writes directoryTarChunks(root) to a file. */
export async function writeDirectoryTar(root: string, tarFile: string, opts: { mtime?: number } = {}): Promise<void> {
  await pipeline(Readable.from(directoryTarChunks(root, opts)), createWriteStream(tarFile));
}

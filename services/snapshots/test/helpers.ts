import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mountAll, unmountAll, unmountUnder, type Mount } from '@berth/mount';
import { buildTar, type WriteEntry, type WriterOptions } from '@berth/tar';
import { requireBinary } from '@berth/testkit';
import { FsHelper } from '../src/fsops/helper.js';
import { Snapshotter } from '../src/snapshotter.js';
import type { DriverName } from '../src/drivers/driver.js';

/** Fails loudly when a binary the suite needs is missing. */
export function requireBinaries(...names: string[]): void {
  for (const n of names) requireBinary(n);
  if (process.getuid?.() !== 0) throw new Error('these tests need root (overlay mounts, device nodes, trusted.* xattrs)');
}

/** A state root per suite (or test), removed with everything mounted below it. */
export class TempRoots {
  private roots: string[] = [];
  make(prefix = 'berth-snap-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.roots.push(d);
    return d;
  }
  async cleanup(): Promise<void> {
    for (const r of this.roots.splice(0)) {
      await unmountUnder(r);
      rmSync(r, { recursive: true, force: true });
    }
  }
}

export async function openSnapshotter(roots: TempRoots, driver: DriverName = 'overlayfs'): Promise<{ sn: Snapshotter; root: string }> {
  const root = join(roots.make(), 'state');
  const sn = await Snapshotter.open({ root, driver });
  return { sn, root };
}

export type Member = { entry: WriteEntry; body?: Buffer | string };

/** A directory member, named with a trailing '/' as tar tools write it. */
export const dir = (name: string, extra: Partial<WriteEntry> = {}): Member => ({
  entry: { name: name.endsWith('/') ? name : `${name}/`, type: 'dir', mode: 0o755, mtime: 1_600_000_000, ...extra },
});
export const file = (name: string, body: string | Buffer, extra: Partial<WriteEntry> = {}): Member => ({
  entry: { name, type: 'file', mode: 0o644, mtime: 1_600_000_000, ...extra },
  body,
});
export const symlink = (name: string, target: string, extra: Partial<WriteEntry> = {}): Member => ({
  entry: { name, type: 'symlink', linkname: target, mode: 0o777, mtime: 1_600_000_000, ...extra },
});
export const hardlink = (name: string, target: string): Member => ({ entry: { name, type: 'hardlink', linkname: target, mtime: 1_600_000_000 } });
export const whiteout = (path: string): Member => {
  const i = path.lastIndexOf('/');
  return file(`${path.slice(0, i + 1)}.wh.${path.slice(i + 1)}`, '');
};
export const opaque = (dirPath: string): Member => file(`${dirPath}/.wh..wh..opq`, '');

export interface Layer {
  tar: Buffer;
  gz: Buffer;
  diffId: string;
}

export function makeLayer(members: Member[], opts: WriterOptions = {}): Layer {
  const tar = buildTar(members, opts);
  return { tar, gz: gzipSync(tar), diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

export async function* streamOf(buf: Buffer, chunk = 7919): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
}

let mountSeq = 0;
/** Mounts, runs fn on the mount point, always unmounts. */
export async function withMounted<T>(roots: TempRoots, mounts: Mount[], fn: (dir: string) => Promise<T> | T): Promise<T> {
  const target = join(roots.make('berth-mnt-'), `m${mountSeq++}`);
  mkdirSync(target);
  await mountAll(mounts, target);
  try {
    return await fn(target);
  } finally {
    await unmountAll(target);
  }
}

export interface TreeEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime?: number;
  size?: number;
  sha?: string;
  link?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  nlink?: number;
}

/**
 * A comparable picture of a tree: every entry's type, mode, owner, content
 * hash, link target, device, user-visible xattrs and (optionally) mtime in
 * whole seconds (what layers carry).
 */
export async function describeTree(root: string, opts: { mtimes?: boolean; xattrs?: boolean } = {}): Promise<Record<string, TreeEntry>> {
  const helper = new FsHelper();
  const out: Record<string, TreeEntry> = {};
  async function walk(rel: string): Promise<void> {
    for (const name of readdirSync(rel === '' ? root : join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      const st = lstatSync(p);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
      const e: TreeEntry = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (opts.mtimes !== false && type !== 'dir') e.mtime = Math.floor(st.mtimeMs / 1000);
      if (type === 'file') {
        e.size = st.size;
        e.sha = createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16);
      }
      if (type === 'symlink') e.link = readlinkSync(p);
      if (type === 'char' || type === 'block') e.rdev = st.rdev;
      if (opts.xattrs !== false) {
        const x = await helper.listXattrs(p);
        const visible = [...x].filter(([k]) => !k.startsWith('trusted.overlay.'));
        if (visible.length > 0) e.xattrs = Object.fromEntries(visible.map(([k, v]) => [k, v.toString('hex')]));
      }
      out[r] = e;
      if (type === 'dir') await walk(r);
    }
  }
  try {
    await walk('');
  } finally {
    await helper.close();
  }
  return out;
}

/** A sentinel outside every snapshot: hostile layers must leave it exactly as it was. */
export class Sentinel {
  readonly dir: string;
  constructor(roots: TempRoots) {
    this.dir = join(roots.make('berth-sentinel-'), 'outside');
    mkdirSync(this.dir);
    execFileSync('sh', ['-c', `echo original > '${this.dir}/file' && mkdir '${this.dir}/sub' && echo keep > '${this.dir}/sub/inner'`]);
  }
  async snapshot(): Promise<Record<string, TreeEntry>> {
    return describeTree(this.dir);
  }
}

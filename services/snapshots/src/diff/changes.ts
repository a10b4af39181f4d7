import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FsHelper } from '../fsops/helper.js';
import { OPAQUE_XATTR, isOverlayXattr } from '../apply/tree.js';
import type { EntryType } from '@berth/tar';

/** One change of a snapshot against its parent, in tar order (parents before children, names sorted). */
export type Change =
  | { kind: 'entry'; rel: string; path: string; st: BigIntStats; type: EntryType; linkname?: string; xattrs: Map<string, Buffer> }
  | { kind: 'whiteout'; rel: string }
  | { kind: 'opaque'; rel: string };

const join = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);
const abs = (root: string, rel: string) => (rel === '' ? root : `${root}/${rel}`);
const sortedNames = (dir: string) => readdirSync(dir).sort();

export function entryType(st: BigIntStats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets: not representable in a layer
}

function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/** An entry's change record; overlay's own xattrs are dropped unless `raw`. */
async function entryOf(root: string, rel: string, st: BigIntStats, helper: FsHelper, raw = false): Promise<Change | undefined> {
  const type = entryType(st);
  if (!type) return undefined;
  const path = abs(root, rel);
  const all = await helper.listXattrs(path);
  const xattrs = raw ? all : layerXattrs(all);
  return { kind: 'entry', rel, path, st, type, ...(type === 'symlink' ? { linkname: readlinkSync(path) } : {}), xattrs };
}

function layerXattrs(x: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...x].filter(([k]) => !isOverlayXattr(k)));
}

/**
 * overlay: the upper dir is the change set. A 0:0 char device is a deletion,
 * trusted.overlay.opaque=y a replaced directory; everything else is content.
 */
export async function* upperChanges(upper: string, helper: FsHelper): AsyncGenerator<Change> {
  async function* walk(rel: string): AsyncGenerator<Change> {
    for (const name of sortedNames(abs(upper, rel))) {
      const crel = join(rel, name);
      const st = lstatSync(abs(upper, crel), { bigint: true });
      if (isWhiteout(st)) {
        yield { kind: 'whiteout', rel: crel };
        continue;
      }
      const e = await entryOf(upper, crel, st, helper, true);
      if (!e || e.kind !== 'entry') continue;
      const opaque = e.xattrs.get(OPAQUE_XATTR)?.toString() === 'y';
      yield { ...e, xattrs: layerXattrs(e.xattrs) };
      if (e.type === 'dir') {
        if (opaque) yield { kind: 'opaque', rel: crel };
        yield* walk(crel);
      }
    }
  }
  yield* walk('');
}

function sameXattrs(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length), fb.read(bb, 0, bb.length)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Whether an entry differs from the parent's entry of the same type. */
async function differs(cur: Change & { kind: 'entry' }, old: Change & { kind: 'entry' }): Promise<boolean> {
  const a = cur.st;
  const b = old.st;
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (!sameXattrs(cur.xattrs, old.xattrs)) return true;
  if (cur.type === 'dir') return a.mtimeNs !== b.mtimeNs;
  if (cur.type === 'symlink') return cur.linkname !== old.linkname || a.mtimeNs !== b.mtimeNs;
  if (cur.type !== 'file') return a.rdev !== b.rdev || a.mtimeNs !== b.mtimeNs;
  if (a.size !== b.size || a.mtimeNs !== b.mtimeNs) return true;
  // Same size and mtime to the nanosecond means unchanged, unless the
  // filesystem only keeps whole seconds: then compare the bytes.
  if (a.mtimeNs % 1_000_000_000n === 0n) return !(await sameContent(cur.path, old.path));
  return false;
}

/**
 * native: the snapshot is a full tree; compare it with the parent's tree.
 * Names gone from the parent become whiteouts; a type change is a new entry
 * (applying it replaces the old one, a directory with all its content).
 */
export async function* treeChanges(dir: string, base: string | undefined, helper: FsHelper): AsyncGenerator<Change> {
  async function* whole(rel: string, st: BigIntStats): AsyncGenerator<Change> {
    const e = await entryOf(dir, rel, st, helper);
    if (!e) return;
    yield e;
    if (st.isDirectory()) {
      for (const name of sortedNames(abs(dir, rel))) {
        const crel = join(rel, name);
        yield* whole(crel, lstatSync(abs(dir, crel), { bigint: true }));
      }
    }
  }
  async function* compare(rel: string): AsyncGenerator<Change> {
    const cur = sortedNames(abs(dir, rel));
    const old = new Set(base ? sortedNames(abs(base, rel)) : []);
    const names = [...new Set([...cur, ...old])].sort();
    const here = new Set(cur);
    for (const name of names) {
      const crel = join(rel, name);
      if (!here.has(name)) {
        yield { kind: 'whiteout', rel: crel };
        continue;
      }
      const st = lstatSync(abs(dir, crel), { bigint: true });
      if (!old.has(name) || !base) {
        yield* whole(crel, st);
        continue;
      }
      const ost = lstatSync(abs(base, crel), { bigint: true });
      if (entryType(st) !== entryType(ost)) {
        yield* whole(crel, st);
        continue;
      }
      const e = await entryOf(dir, crel, st, helper);
      const o = await entryOf(base, crel, ost, helper);
      if (!e || !o || e.kind !== 'entry' || o.kind !== 'entry') continue;
      if (await differs(e, o)) yield e;
      if (st.isDirectory()) yield* compare(crel);
    }
  }
  yield* compare('');
}

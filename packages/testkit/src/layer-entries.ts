// The friendly description of a layer's content and its translation into tar
// entries. Paths are image paths ('/etc/passwd' or 'etc/passwd'); they are
// written relative ('etc/passwd', directories with a trailing '/'), as image
// builders do. `raw` entries pass through untouched for hostile archives.
import { readFileSync } from 'node:fs';
import type { RawTarEntry } from './tar.js';

interface Owned {
  /** Image path, e.g. '/etc/passwd'. */
  path: string;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default FIXED_MTIME. */
  mtime?: number;
  /** Extended attributes, written as PAX SCHILY.xattr.<name> records. */
  xattrs?: Record<string, string | Buffer>;
}

export interface FileEntry extends Owned {
  type: 'file';
  /** File bytes; give either content or source (a host file read at build time). Neither means an empty file. */
  content?: string | Buffer;
  source?: string;
  /** Default 0o644. */
  mode?: number;
}
export interface DirEntry extends Owned {
  type: 'dir';
  /** Default 0o755. */
  mode?: number;
}
export interface SymlinkEntry extends Owned {
  type: 'symlink';
  /** Written as is: absolute or relative. */
  target: string;
}
export interface HardlinkEntry extends Owned {
  type: 'hardlink';
  /** Image path of the file linked to (an earlier entry). */
  target: string;
}
/** Deletes `path` from the layers below: written as `<dir>/.wh.<name>`. */
export interface WhiteoutEntry {
  type: 'whiteout';
  path: string;
}
/** Hides everything the layers below have in directory `path`: written as `<path>/.wh..wh..opq`. */
export interface OpaqueEntry {
  type: 'opaque';
  path: string;
}
export interface DeviceEntry extends Owned {
  type: 'char' | 'block';
  major: number;
  minor: number;
  /** Default 0o666. */
  mode?: number;
}
export interface FifoEntry extends Owned {
  type: 'fifo';
  /** Default 0o644. */
  mode?: number;
}
/** Written exactly as given (see RawTarEntry): for hostile layers. */
export interface RawEntry {
  type: 'raw';
  entry: RawTarEntry;
}

export type LayerEntry =
  | FileEntry
  | DirEntry
  | SymlinkEntry
  | HardlinkEntry
  | WhiteoutEntry
  | OpaqueEntry
  | DeviceEntry
  | FifoEntry
  | RawEntry;

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** 'a//b/./c/' → 'a/b/c'; rejects paths that leave the root (use a raw entry for those). */
export function imagePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new Error(`layer path ${JSON.stringify(path)} contains '..'; use a raw entry to write it`);
    parts.push(part);
  }
  if (parts.length === 0) throw new Error(`layer path ${JSON.stringify(path)} names the root`);
  return parts.join('/');
}

function splitParent(path: string): { dir: string; base: string } {
  const p = imagePath(path);
  const i = p.lastIndexOf('/');
  return i < 0 ? { dir: '', base: p } : { dir: p.slice(0, i + 1), base: p.slice(i + 1) };
}

function xattrRecords(xattrs: Owned['xattrs']): RawTarEntry['pax'] {
  if (!xattrs) return undefined;
  const pax: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(xattrs)) pax[`SCHILY.xattr.${k}`] = v;
  return pax;
}

function owned(e: Owned): Pick<RawTarEntry, 'uid' | 'gid' | 'mtime' | 'pax'> {
  const out: Pick<RawTarEntry, 'uid' | 'gid' | 'mtime' | 'pax'> = { uid: e.uid ?? 0, gid: e.gid ?? 0 };
  if (e.mtime !== undefined) out.mtime = e.mtime;
  const pax = xattrRecords(e.xattrs);
  if (pax) out.pax = pax;
  return out;
}

/** The tar entry for one layer entry. */
export function toTarEntry(e: LayerEntry): RawTarEntry {
  switch (e.type) {
    case 'raw':
      return e.entry;
    case 'file': {
      if (e.content !== undefined && e.source !== undefined) {
        throw new Error(`file entry ${e.path} has both content and source; give one`);
      }
      const content = e.source !== undefined ? readFileSync(e.source) : (e.content ?? '');
      return { name: imagePath(e.path), type: 'file', mode: e.mode ?? 0o644, content, ...owned(e) };
    }
    case 'dir':
      return { name: `${imagePath(e.path)}/`, type: 'dir', mode: e.mode ?? 0o755, ...owned(e) };
    case 'symlink':
      return { name: imagePath(e.path), type: 'symlink', mode: 0o777, linkname: e.target, ...owned(e) };
    case 'hardlink':
      return { name: imagePath(e.path), type: 'hardlink', mode: 0o644, linkname: imagePath(e.target), ...owned(e) };
    case 'whiteout': {
      const { dir, base } = splitParent(e.path);
      return { name: `${dir}${WHITEOUT_PREFIX}${base}`, type: 'file', mode: 0o644 };
    }
    case 'opaque':
      return { name: `${imagePath(e.path)}/${OPAQUE_MARKER}`, type: 'file', mode: 0o644 };
    case 'char':
    case 'block':
      return {
        name: imagePath(e.path),
        type: e.type,
        mode: e.mode ?? 0o666,
        devmajor: e.major,
        devminor: e.minor,
        ...owned(e),
      };
    case 'fifo':
      return { name: imagePath(e.path), type: 'fifo', mode: e.mode ?? 0o644, ...owned(e) };
  }
}

function sortKey(e: RawTarEntry): Buffer {
  const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
  // 'a/' and 'a' sort together so a directory precedes its children
  return name.length > 0 && name[name.length - 1] === 0x2f ? name.subarray(0, name.length - 1) : name;
}

/**
 * Tar entries sorted by path (bytewise, stable), so the same set of entries
 * gives the same bytes whatever order they were listed in; parents come
 * before children and a hardlink comes right after its target when the
 * target sorts later.
 */
export function sortedTarEntries(entries: readonly LayerEntry[]): RawTarEntry[] {
  const sorted = entries
    .map((e, i) => ({ tar: toTarEntry(e), i }))
    .sort((a, b) => Buffer.compare(sortKey(a.tar), sortKey(b.tar)) || a.i - b.i)
    .map((x) => x.tar);
  const key = (v: string | Buffer): string => sortKey({ name: v, type: 'file' }).toString('latin1');
  const names = new Set(sorted.map((e) => key(e.name)));
  const emitted = new Set<string>();
  const waiting = new Map<string, RawTarEntry[]>();
  const out: RawTarEntry[] = [];
  const emit = (e: RawTarEntry): void => {
    out.push(e);
    const k = key(e.name);
    emitted.add(k);
    const deps = waiting.get(k);
    waiting.delete(k);
    for (const d of deps ?? []) emit(d);
  };
  for (const e of sorted) {
    const target = e.type === 'hardlink' && e.linkname !== undefined ? key(e.linkname) : undefined;
    if (target !== undefined && names.has(target) && !emitted.has(target)) {
      waiting.set(target, [...(waiting.get(target) ?? []), e]);
    } else {
      emit(e);
    }
  }
  // links whose targets never came (cycles) keep their sorted place at the end
  for (const deps of waiting.values()) out.push(...deps);
  return out;
}

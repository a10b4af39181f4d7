import type { Writable } from 'node:stream';
import {
  BLOCK,
  GNU_LONGLINK_TYPEFLAG,
  GNU_LONGNAME_TYPEFLAG,
  MAX_OCTAL_12,
  MAX_OCTAL_8,
  PAX_TYPEFLAG,
  TYPEFLAG,
  encodeHeaderBlock,
  paddingFor,
  paxRecord,
  type EntryType,
} from './format.js';

type Records = ReadonlyMap<string, Buffer | string> | Readonly<Record<string, Buffer | string>>;

/** What the writer needs to know about a member; defaults fill the rest. */
export interface WriteEntry {
  /** Written as given (a string as UTF-8): no '/' is added to directories, nothing is cleaned. */
  name: string | Buffer;
  type: EntryType;
  /** A typeflag to write instead of the type's own: for crafting odd archives in tests. */
  typeflag?: string;
  /** Default 0o755 for directories, 0o777 for symlinks, 0o644 otherwise. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** The size field. TarWriter and buildTar set it from the body for files; encodeEntryHeader writes it as given. */
  size?: number;
  /** Seconds since the epoch (default 0); a fraction or a value the field cannot hold goes into a PAX record. */
  mtime?: number;
  linkname?: string | Buffer;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, as PAX SCHILY.xattr.<name> records. */
  xattrs?: Records;
  /** Further PAX records, written as given. */
  pax?: Records;
}

export interface WriterOptions {
  /** Long names and link targets as GNU 'L'/'K' records instead of PAX path/linkpath (readers must know both). */
  gnuLongNames?: boolean;
}

const bytesOf = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);

function recordEntries(r: Records | undefined): [string, Buffer][] {
  if (!r) return [];
  const list: [string, Buffer | string][] = r instanceof Map ? [...(r as ReadonlyMap<string, Buffer | string>)] : Object.entries(r);
  return list.map(([k, v]) => [k, bytesOf(v)]);
}

/** Needs an extension record: too long for the 100-byte field, not ASCII, or holding a NUL the field would cut at. */
function needsExtension(b: Buffer): boolean {
  return b.length > 100 || b.some((c) => c > 0x7f || c === 0);
}

/** What a numeric header field gets when the real value travels in a PAX record. */
const fieldValue = (v: number, max: number): number => (v >= 0 && v <= max ? Math.trunc(v) : 0);

function formatPaxTime(t: number): string {
  const neg = t < 0;
  const abs = Math.abs(t);
  const sec = Math.floor(abs);
  const frac = Math.round((abs - sec) * 1e9);
  const text = frac === 0 ? String(sec) : `${sec}.${String(frac).padStart(9, '0').replace(/0+$/, '')}`;
  return neg ? `-${text}` : text;
}

function extensionBlocks(typeflag: string, name: Buffer, mtime: number, data: Buffer): Buffer[] {
  return [
    encodeHeaderBlock({ nameBytes: name, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime, typeflag }),
    data,
    Buffer.alloc(paddingFor(data.length)),
  ];
}

/**
 * One member's header blocks: GNU 'L'/'K' or PAX 'x' records where the
 * ustar fields cannot hold a value, then the ustar block. It encodes what it
 * is given (validation is the reader's job), so tests can craft hostile
 * archives; the same entry always gives the same bytes.
 */
export function encodeEntryHeader(entry: WriteEntry, opts: WriterOptions = {}): Buffer {
  const name = bytesOf(entry.name);
  const link = bytesOf(entry.linkname ?? '');
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  const size = entry.size ?? 0;
  const mtime = entry.mtime ?? 0;
  const blocks: Buffer[] = [];
  const pax: Buffer[] = [];
  if (needsExtension(name)) {
    if (opts.gnuLongNames) blocks.push(...extensionBlocks(GNU_LONGNAME_TYPEFLAG, Buffer.from('././@LongLink'), 0, Buffer.concat([name, Buffer.alloc(1)])));
    else pax.push(paxRecord('path', name));
  }
  if (needsExtension(link)) {
    if (opts.gnuLongNames) blocks.push(...extensionBlocks(GNU_LONGLINK_TYPEFLAG, Buffer.from('././@LongLink'), 0, Buffer.concat([link, Buffer.alloc(1)])));
    else pax.push(paxRecord('linkpath', link));
  }
  if (uid > MAX_OCTAL_8) pax.push(paxRecord('uid', Buffer.from(String(uid))));
  if (gid > MAX_OCTAL_8) pax.push(paxRecord('gid', Buffer.from(String(gid))));
  if (size > MAX_OCTAL_12) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_12) pax.push(paxRecord('mtime', Buffer.from(formatPaxTime(mtime))));
  const extra = [...recordEntries(entry.pax), ...recordEntries(entry.xattrs).map(([k, v]): [string, Buffer] => [`SCHILY.xattr.${k}`, v])];
  for (const [k, v] of extra.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) pax.push(paxRecord(k, v));
  if (pax.length > 0) {
    // named like Go's archive/tar: PaxHeaders.0/<base name>
    const base = name.subarray(name.lastIndexOf(0x2f) + 1);
    blocks.push(...extensionBlocks(PAX_TYPEFLAG, Buffer.concat([Buffer.from('PaxHeaders.0/'), base]).subarray(0, 100), fieldValue(mtime, MAX_OCTAL_12), Buffer.concat(pax)));
  }
  blocks.push(
    encodeHeaderBlock({
      nameBytes: name,
      mode: entry.mode ?? (entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644),
      uid: fieldValue(uid, MAX_OCTAL_8),
      gid: fieldValue(gid, MAX_OCTAL_8),
      size: fieldValue(size, MAX_OCTAL_12),
      mtime: fieldValue(mtime, MAX_OCTAL_12),
      typeflag: entry.typeflag ?? TYPEFLAG[entry.type],
      linknameBytes: link,
      ...(entry.uname !== undefined ? { uname: entry.uname } : {}),
      ...(entry.gname !== undefined ? { gname: entry.gname } : {}),
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
    }),
  );
  return Buffer.concat(blocks);
}

/** Data padding of a member whose body is `size` bytes. */
export function padding(size: number): Buffer {
  return Buffer.alloc(paddingFor(size));
}

/** End-of-archive: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

export type Sink = (chunk: Buffer) => void | Promise<void>;

/** A sink writing to a Node stream, waiting on backpressure; fails if the stream errors or closes first. */
export function writableSink(out: Writable): Sink {
  return (buf) =>
    new Promise<void>((resolve, reject) => {
      if (out.destroyed) {
        reject(new Error('tar output is closed'));
        return;
      }
      if (out.write(buf)) {
        resolve();
        return;
      }
      const cleanup = () => {
        out.off('drain', onDrain);
        out.off('error', onError);
        out.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onClose = () => {
        cleanup();
        reject(new Error('tar output closed before the archive was written'));
      };
      out.once('drain', onDrain);
      out.once('error', onError);
      out.once('close', onClose);
    });
}

/** Options of the one-call helpers (addFile, addDirectory, addSymlink). */
export type EntryOptions = Omit<WriteEntry, 'name' | 'type' | 'size' | 'linkname' | 'typeflag'>;

/** Streams members into a sink (or a Writable), checking that each body has the declared size. */
export class TarWriter {
  private readonly sink: Sink;
  private written = 0;

  constructor(
    out: Sink | Writable,
    private readonly opts: WriterOptions = {},
  ) {
    this.sink = typeof out === 'function' ? out : writableSink(out);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.written;
  }

  private async emit(buf: Buffer): Promise<void> {
    this.written += buf.length;
    await this.sink(buf);
  }

  /** One member; a file's size defaults to its body's length (a stream body needs entry.size). Does not end the output. */
  async add(entry: WriteEntry, body?: Buffer | AsyncIterable<Uint8Array>): Promise<void> {
    const size = entry.type === 'file' ? (entry.size ?? (Buffer.isBuffer(body) ? body.length : 0)) : 0;
    const shown = JSON.stringify(bytesOf(entry.name).toString());
    await this.emit(encodeEntryHeader({ ...entry, size }, this.opts));
    if (size === 0) return;
    if (body === undefined) throw new Error(`tar writer: entry ${shown} declares ${size} bytes but has no body`);
    let written = 0;
    for await (const c of Buffer.isBuffer(body) ? [body] : body) {
      const buf = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      if (written + buf.length > size) throw new Error(`tar writer: entry ${shown} has more than the declared ${size} bytes (changed while being written?)`);
      written += buf.length;
      await this.emit(buf);
    }
    if (written !== size) throw new Error(`tar writer: entry ${shown} has ${written} bytes, ${size} declared (changed while being written?)`);
    const pad = paddingFor(size);
    if (pad > 0) await this.emit(Buffer.alloc(pad));
  }

  addFile(name: string, size: number, body: Buffer | AsyncIterable<Uint8Array>, opts: EntryOptions = {}): Promise<void> {
    return this.add({ ...opts, name, type: 'file', size }, body);
  }

  /** A directory member, named with the trailing '/' tar tools write. */
  addDirectory(name: string, opts: EntryOptions = {}): Promise<void> {
    return this.add({ ...opts, name: name.endsWith('/') ? name : `${name}/`, type: 'dir' });
  }

  addSymlink(name: string, target: string, opts: EntryOptions = {}): Promise<void> {
    return this.add({ ...opts, name, type: 'symlink', linkname: target });
  }

  /** Writes the end-of-archive marker. Does not end the output. */
  async finish(): Promise<void> {
    await this.emit(endOfArchive());
  }
}

/** A whole archive in memory (tests, small layers); a file's size is its body's length. */
export function buildTar(
  members: readonly { entry: WriteEntry; body?: Buffer | string }[],
  opts: WriterOptions & { endMarker?: boolean } = {},
): Buffer {
  const out: Buffer[] = [];
  for (const m of members) {
    const body = m.body === undefined ? Buffer.alloc(0) : bytesOf(m.body);
    const size = m.entry.type === 'file' ? body.length : 0;
    out.push(encodeEntryHeader({ ...m.entry, size }, opts));
    if (size > 0) out.push(body, padding(size));
  }
  if (opts.endMarker !== false) out.push(endOfArchive());
  return Buffer.concat(out);
}

import {
  BLOCK,
  TYPEFLAG,
  encodeHeaderBlock,
  paddingFor,
  paxRecord,
  type EntryType,
} from './format.js';

/** What the writer needs to know about a member; defaults fill the rest. */
export interface WriteEntry {
  name: string;
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Data length (file entries); other types carry none. */
  size?: number;
  /** Seconds since the epoch; a fraction is kept through PAX. */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Buffer> | Record<string, Buffer | string>;
}

export interface WriterOptions {
  /** Long names/links as GNU 'L'/'K' records instead of PAX (readers must know both; tests use this). */
  gnuLongNames?: boolean;
}

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function xattrEntries(x: WriteEntry['xattrs']): [string, Buffer][] {
  if (!x) return [];
  const list: [string, Buffer | string][] = x instanceof Map ? [...x] : Object.entries(x);
  return list
    .map(([k, v]): [string, Buffer] => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Splits a name into ustar prefix (≤155) + name (≤100) at a '/', if it can be. */
function splitUstar(name: Buffer): { prefix?: Buffer; name: Buffer } | undefined {
  if (name.length <= 100) return { name };
  if (name.length > 256) return undefined;
  for (let i = Math.min(155, name.length - 2); i > 0 && i >= name.length - 101; i--) {
    if (name[i] === 0x2f) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
  }
  return undefined;
}

/**
 * Encodes one member's header blocks: optional PAX ('x') or GNU ('L'/'K')
 * records, then the ustar block. The writer encodes what it is given —
 * validation is the reader's job — so tests can craft hostile archives.
 */
export function encodeEntryHeader(entry: WriteEntry, opts: WriterOptions = {}): Buffer {
  const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
  const isDir = entry.type === 'dir';
  const nameText = isDir && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const nameBytes = Buffer.from(nameText);
  const linkBytes = Buffer.from(entry.linkname ?? '');
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  const mtime = entry.mtime ?? 0;
  const pax: Buffer[] = [];
  const gnu: Buffer[] = [];
  const nonAscii = (b: Buffer) => b.some((c) => c > 0x7f);

  let split = splitUstar(nameBytes);
  if (!split || nonAscii(nameBytes) || nameBytes.includes(0)) {
    if (opts.gnuLongNames) gnu.push(gnuRecord('L', nameBytes));
    else pax.push(paxRecord('path', nameBytes));
    split = { name: nameBytes.subarray(0, 100) };
  }
  if (linkBytes.length > 100 || nonAscii(linkBytes) || linkBytes.includes(0)) {
    if (opts.gnuLongNames) gnu.push(gnuRecord('K', linkBytes));
    else pax.push(paxRecord('linkpath', linkBytes));
  }
  if (uid > MAX_OCTAL_8) pax.push(paxRecord('uid', Buffer.from(String(uid))));
  if (gid > MAX_OCTAL_8) pax.push(paxRecord('gid', Buffer.from(String(gid))));
  if (size > MAX_OCTAL_12) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_12) {
    pax.push(paxRecord('mtime', Buffer.from(formatPaxTime(mtime))));
  }
  for (const [k, v] of xattrEntries(entry.xattrs)) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));

  const blocks: Buffer[] = [...gnu];
  if (pax.length > 0) {
    const data = Buffer.concat(pax);
    const paxName = Buffer.from(`PaxHeaders/${split.name.toString('latin1')}`.slice(0, 100), 'latin1');
    blocks.push(
      encodeHeaderBlock({ nameBytes: paxName, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, typeflag: 'x' }),
      data,
      Buffer.alloc(paddingFor(data.length)),
    );
  }
  blocks.push(
    encodeHeaderBlock({
      nameBytes: split.name,
      ...(split.prefix ? { prefixBytes: split.prefix } : {}),
      mode: entry.mode ?? (isDir ? 0o755 : 0o644),
      uid: Math.min(uid, MAX_OCTAL_8),
      gid: Math.min(gid, MAX_OCTAL_8),
      size: Math.min(size, MAX_OCTAL_12),
      mtime: Math.max(0, Math.min(Math.trunc(mtime), MAX_OCTAL_12)),
      typeflag: TYPEFLAG[entry.type],
      linknameBytes: linkBytes.subarray(0, 100),
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
    }),
  );
  return Buffer.concat(blocks);
}

function gnuRecord(flag: 'L' | 'K', value: Buffer): Buffer {
  const data = Buffer.concat([value, Buffer.alloc(1)]);
  return Buffer.concat([
    encodeHeaderBlock({ nameBytes: Buffer.from('././@LongLink'), mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, typeflag: flag }),
    data,
    Buffer.alloc(paddingFor(data.length)),
  ]);
}

function formatPaxTime(t: number): string {
  const neg = t < 0;
  const abs = Math.abs(t);
  const sec = Math.floor(abs);
  const frac = Math.round((abs - sec) * 1e9);
  const text = frac === 0 ? String(sec) : `${sec}.${String(frac).padStart(9, '0').replace(/0+$/, '')}`;
  return neg ? `-${text}` : text;
}

/** End-of-archive: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export type Sink = (chunk: Buffer) => void | Promise<void>;

/** Streams members into a sink, checking that each body has the declared size. */
export class TarWriter {
  constructor(
    private readonly sink: Sink,
    private readonly opts: WriterOptions = {},
  ) {}

  async add(entry: WriteEntry, body?: Buffer | AsyncIterable<Uint8Array>): Promise<void> {
    const size = entry.type === 'file' ? (entry.size ?? (Buffer.isBuffer(body) ? body.length : 0)) : 0;
    await this.sink(encodeEntryHeader({ ...entry, size }, this.opts));
    if (size === 0) return;
    if (body === undefined) throw new Error(`tar writer: entry ${entry.name} declares ${size} bytes but has no body`);
    let written = 0;
    const chunks = Buffer.isBuffer(body) ? [body] : body;
    for await (const c of chunks) {
      const buf = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      if (written + buf.length > size) throw new Error(`tar writer: entry ${entry.name} grew beyond ${size} bytes while being written`);
      written += buf.length;
      await this.sink(buf);
    }
    if (written !== size) throw new Error(`tar writer: entry ${entry.name} has ${written} bytes, declared ${size} (changed while being written?)`);
    const pad = paddingFor(size);
    if (pad > 0) await this.sink(Buffer.alloc(pad));
  }

  async finish(): Promise<void> {
    await this.sink(END_OF_ARCHIVE);
  }
}

/** A whole archive in memory (tests, small layers). */
export function buildTar(
  members: readonly { entry: WriteEntry; body?: Buffer | string }[],
  opts: WriterOptions & { endMarker?: boolean } = {},
): Buffer {
  const out: Buffer[] = [];
  for (const m of members) {
    const body = m.body === undefined ? undefined : Buffer.isBuffer(m.body) ? m.body : Buffer.from(m.body);
    const size = m.entry.type === 'file' ? (body?.length ?? 0) : 0;
    out.push(encodeEntryHeader({ ...m.entry, size }, opts));
    if (body && size > 0) out.push(body, Buffer.alloc(paddingFor(size)));
  }
  if (opts.endMarker !== false) out.push(END_OF_ARCHIVE);
  return Buffer.concat(out);
}

import { ByteSource } from './byte-source.js';
import { TarFormatError, TarTruncatedError } from './errors.js';
import {
  BLOCK,
  GNU_LONGLINK_TYPEFLAG,
  GNU_LONGNAME_TYPEFLAG,
  PAX_GLOBAL_TYPEFLAG,
  PAX_TYPEFLAG,
  isHeaderOnly,
  isZeroBlock,
  paddingFor,
  parseHeader,
  parsePax,
  typeOfFlag,
  type EntryType,
  type RawHeader,
} from './format.js';

/** One archive member after every extension record (PAX, GNU long name/link) was folded in. */
export interface TarHeader {
  name: string;
  type: EntryType;
  /** The typeflag as written ('0', '\0' and '7' all read as 'file'). */
  typeflag: string;
  /** Permission bits (and any file-type bits the writer put in the field). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Bytes of data that follow; always 0 for the header-only types (everything but files). */
  size: number;
  /** Seconds since the epoch; may carry a fraction (PAX mtime). */
  mtime: number;
  /** Target of a symlink or hardlink; '' otherwise. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (PAX SCHILY.xattr.* and LIBARCHIVE.xattr.*), raw values. */
  xattrs: Map<string, Buffer>;
  /** Every PAX record that applied (global ones included), raw values. */
  pax: Map<string, Buffer>;
}

export interface ReaderOptions {
  /** Sees every byte of the stream as it is read, trailing bytes after the end marker included (for hashing). */
  onData?: (chunk: Buffer) => void;
  /** Largest PAX or GNU extension record accepted; default 1 MiB (no name needs more). */
  maxExtensionBytes?: number;
}

const DEFAULT_MAX_EXTENSION = 1 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Quoted for messages, cut short so a hostile 1 MiB name does not flood a log. */
function shownName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

function stripTrailingNuls(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

function paxXattrs(pax: Map<string, Buffer>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    if (key.startsWith('SCHILY.xattr.')) out.set(key.slice('SCHILY.xattr.'.length), value);
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      // bsdtar: name URL-encoded, value base64
      out.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value.toString('latin1'), 'base64'));
    }
  }
  return out;
}

/** Extension records collected for the member that follows them. */
interface Pending {
  offset: number;
  pax: Map<string, Buffer>;
  longName?: Buffer;
  longLink?: Buffer;
}

/**
 * Streaming tar reader: ustar, GNU long names and links ('L'/'K'), PAX
 * extended and global headers (path, linkpath, size, uid, gid, uname, gname,
 * mtime, xattrs). Strict: a bad checksum or field, an unsupported member
 * type (sparse files, volume labels, ...), a name or link target that is not
 * UTF-8 or holds a NUL byte, or a stream that ends before the end-of-archive
 * marker is an error naming the offset (and the entry, once known).
 *
 * Usage: `for (let h; (h = await r.next()); ) { for await (const c of r.body()) … }`;
 * a body that is not read (or read part-way) is skipped by the next call to next().
 */
export class TarReader {
  private readonly src: ByteSource;
  private readonly maxExtension: number;
  private remaining = 0;
  private pad = 0;
  private current = '';
  private global = new Map<string, Buffer>();
  private finished = false;
  /** Bytes after the end-of-archive marker (padding by the writer). */
  trailingBytes = 0;
  /** Stream offset of the current member's first header block. */
  entryOffset = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: ReaderOptions = {}) {
    this.src = ByteSource.from(source, opts.onData);
    this.maxExtension = opts.maxExtensionBytes ?? DEFAULT_MAX_EXTENSION;
  }

  /** Stream bytes read so far. */
  get offset(): number {
    return this.src.offset;
  }

  /** The next member's header; null after the end-of-archive marker (the rest of the stream is drained). */
  async next(): Promise<TarHeader | null> {
    if (this.finished) return null;
    await this.src.skip(this.remaining + this.pad, this.describeData);
    this.remaining = 0;
    this.pad = 0;
    let pending: Pending | undefined;
    for (;;) {
      const at = this.src.offset;
      if (!pending) this.entryOffset = at;
      const block = await this.src.readExact(BLOCK, 'header block');
      if (block === null) {
        throw new TarTruncatedError(`truncated tar archive: the stream ends at offset ${at} without the end-of-archive marker`, { offset: at });
      }
      if (isZeroBlock(block)) {
        if (pending) throw new TarFormatError(`extension header at offset ${pending.offset} is followed by the end of the archive, not by an entry`, { offset: pending.offset });
        await this.finish(at);
        return null;
      }
      const h = parseHeader(block, at);
      const flag = h.typeflag;
      if (flag === PAX_TYPEFLAG || flag === PAX_GLOBAL_TYPEFLAG || flag === GNU_LONGNAME_TYPEFLAG || flag === GNU_LONGLINK_TYPEFLAG) {
        const p: Pending = pending ?? { offset: at, pax: new Map() };
        const data = await this.readExtension(h.size, flag, at);
        if (flag === PAX_TYPEFLAG) for (const [k, v] of parsePax(data, at)) p.pax.set(k, v);
        else if (flag === PAX_GLOBAL_TYPEFLAG) for (const [k, v] of parsePax(data, at)) this.global.set(k, v);
        else if (flag === GNU_LONGNAME_TYPEFLAG) p.longName = stripTrailingNuls(data);
        else p.longLink = stripTrailingNuls(data);
        // a global header stands alone; the others describe the next member
        if (flag !== PAX_GLOBAL_TYPEFLAG) pending = p;
        continue;
      }
      return this.member(h, pending ?? { offset: at, pax: new Map() });
    }
  }

  /** The current member's data, as slices valid until the next read. */
  async *body(): AsyncGenerator<Buffer> {
    for await (const chunk of this.src.read(this.remaining, this.describeData)) {
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  private readonly describeData = () => `the data of entry ${shownName(this.current)}`;

  /** Stops reading: ends the source iterator (closing files and decompressors behind it). */
  async close(): Promise<void> {
    await this.src.close();
  }

  private async finish(at: number): Promise<void> {
    const second = await this.src.readExact(BLOCK, 'end-of-archive marker');
    if (second !== null && !isZeroBlock(second)) {
      throw new TarFormatError(`a lone zero block at offset ${at} is followed by data: corrupt archive`, { offset: at });
    }
    this.finished = true;
    this.trailingBytes = await this.src.drain();
  }

  private async readExtension(size: number, flag: string, at: number): Promise<Buffer> {
    const kind = flag === PAX_TYPEFLAG ? 'PAX' : flag === PAX_GLOBAL_TYPEFLAG ? 'PAX global' : flag === GNU_LONGNAME_TYPEFLAG ? 'GNU long name' : 'GNU long link';
    if (size > this.maxExtension) {
      throw new TarFormatError(`${kind} header at offset ${at} holds ${size} bytes, over the limit of ${this.maxExtension}`, { offset: at });
    }
    const data = (await this.src.readExact(size, `${kind} header`)) ?? Buffer.alloc(0);
    if (data.length < size) throw new TarTruncatedError(`truncated tar archive: the stream ends inside the ${kind} header at offset ${at}`, { offset: at });
    const copy = Buffer.from(data); // a slice of a source chunk: copied so records do not pin the chunk
    await this.src.skip(paddingFor(size), `the ${kind} header at offset ${at}`);
    return copy;
  }

  private member(h: RawHeader, p: Pending): TarHeader {
    const pax = new Map([...this.global, ...p.pax]);
    const nameBytes = pax.get('path') ?? p.longName ?? h.nameBytes;
    const rough = nameBytes.toString('utf8');
    const fail = (why: string) => new TarFormatError(`entry ${shownName(rough)} at offset ${p.offset}: ${why}`, { offset: p.offset, entry: rough });
    const type = typeOfFlag(h.typeflag);
    if (type === undefined) {
      throw fail(`unsupported tar entry (${h.typeflag === 'S' ? 'GNU sparse file' : `type ${JSON.stringify(h.typeflag)}`})`);
    }
    if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size') || pax.has('GNU.sparse.map')) throw fail('unsupported tar entry (PAX sparse file)');
    const name = this.text(nameBytes, 'entry name', rough, p.offset);
    const linkname = this.text(pax.get('linkpath') ?? p.longLink ?? h.linknameBytes, `entry ${shownName(name)}: link target`, name, p.offset);
    const declared = this.paxNumber(pax, 'size', h.size, true, name, p.offset);
    if (declared < 0) throw fail(`negative size ${declared}`);
    // header-only members carry no data even when a (bogus) size is set, as Go's reader has it
    const size = isHeaderOnly(type) ? 0 : declared;
    this.current = name;
    this.remaining = size;
    this.pad = paddingFor(size);
    return {
      name,
      type,
      typeflag: h.typeflag,
      mode: h.mode,
      uid: this.paxNumber(pax, 'uid', h.uid, true, name, p.offset),
      gid: this.paxNumber(pax, 'gid', h.gid, true, name, p.offset),
      uname: pax.get('uname')?.toString('utf8') ?? h.uname,
      gname: pax.get('gname')?.toString('utf8') ?? h.gname,
      size,
      mtime: this.paxNumber(pax, 'mtime', h.mtime, false, name, p.offset),
      linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs: paxXattrs(pax),
      pax,
    };
  }

  /** A name or link target: UTF-8 without NUL bytes (no path on any system holds one). */
  private text(bytes: Buffer, label: string, entry: string, offset: number): string {
    let s: string;
    try {
      s = utf8.decode(bytes);
    } catch {
      throw new TarFormatError(`${label} is not valid UTF-8 (bytes ${bytes.subarray(0, 200).toString('hex')}; header at offset ${offset})`, { offset, entry });
    }
    if (s.includes('\0')) throw new TarFormatError(`${label} ${shownName(s)} contains a NUL byte (header at offset ${offset})`, { offset, entry });
    return s;
  }

  private paxNumber(pax: Map<string, Buffer>, key: string, fallback: number, integer: boolean, entry: string, offset: number): number {
    const v = pax.get(key);
    if (v === undefined) return fallback;
    const text = v.toString('latin1');
    const ok = integer ? /^[0-9]+$/.test(text) : /^-?[0-9]+(\.[0-9]+)?$/.test(text);
    if (!ok) throw new TarFormatError(`entry ${shownName(entry)}: PAX ${key} is not a number: ${JSON.stringify(text)}`, { offset, entry });
    const n = integer ? parseInt(text, 10) : parseFloat(text);
    if (!Number.isSafeInteger(Math.trunc(n))) throw new TarFormatError(`entry ${shownName(entry)}: PAX ${key} ${text} is too large`, { offset, entry });
    return n;
  }
}

/** One member as an iterator gives it: the header and its data (read it before asking for the next, or it is skipped). */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/** The members of a tar stream, in order; the source is closed when iteration stops, early or not. */
export async function* readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: ReaderOptions = {}): AsyncGenerator<TarEntry> {
  const reader = new TarReader(source, opts);
  try {
    for (let header = await reader.next(); header; header = await reader.next()) yield { header, body: reader.body() };
  } finally {
    await reader.close();
  }
}

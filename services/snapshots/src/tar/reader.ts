import { ByteSource, TruncatedError } from './byte-source.js';
import {
  BLOCK,
  TarFormatError,
  isZeroBlock,
  paddingFor,
  parseHeader,
  parsePax,
  typeOfFlag,
  type TarEntry,
} from './format.js';

export { TruncatedError } from './byte-source.js';
export { TarFormatError } from './format.js';

/** Extension headers (PAX, GNU long names) larger than this are refused: no name needs more. */
const MAX_META = 1 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TarFormatError(`${what} is not valid UTF-8 (bytes ${bytes.toString('hex')})`);
  }
}

function paxNumber(pax: Map<string, Buffer>, key: string, fallback: number, integer: boolean): number {
  const v = pax.get(key);
  if (v === undefined) return fallback;
  const text = v.toString('latin1');
  const ok = integer ? /^[0-9]+$/.test(text) : /^-?[0-9]+(\.[0-9]+)?$/.test(text);
  if (!ok) throw new TarFormatError(`PAX ${key} is not a number: ${JSON.stringify(text)}`);
  return integer ? parseInt(text, 10) : parseFloat(text);
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

function stripTrailingNuls(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

/**
 * Streaming tar reader: ustar, GNU long names/links (L/K), PAX extended and
 * global headers (path, linkpath, size, uid, gid, mtime, xattrs).
 * Usage: `for (let e; (e = await r.next()); ) { for await (const c of r.body()) … }`;
 * an unread body is skipped by the next call to next().
 */
export class TarReader {
  private remaining = 0;
  private pad = 0;
  private global = new Map<string, Buffer>();
  private finished = false;
  /** Bytes after the end-of-archive marker (padding by the writer). */
  trailingBytes = 0;
  /** Stream offset of the current entry's header, for error messages. */
  entryOffset = 0;

  constructor(private readonly src: ByteSource) {}

  private async readBlock(): Promise<Buffer | null> {
    return this.src.readExact(BLOCK);
  }

  private async readMeta(size: number, kind: string): Promise<Buffer> {
    if (size > MAX_META) throw new TarFormatError(`${kind} header of ${size} bytes exceeds the ${MAX_META}-byte limit`);
    const data = (await this.src.readExact(size)) ?? Buffer.alloc(0);
    if (data.length < size) throw new TruncatedError(`stream ended inside a ${kind} header`);
    await this.src.skip(paddingFor(size));
    return Buffer.from(data);
  }

  async next(): Promise<TarEntry | null> {
    if (this.finished) return null;
    await this.src.skip(this.remaining + this.pad);
    this.remaining = 0;
    this.pad = 0;
    let pax = new Map<string, Buffer>();
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    for (;;) {
      this.entryOffset = this.src.offset;
      const block = await this.readBlock();
      if (block === null) {
        throw new TruncatedError(`tar stream ended at byte ${this.src.offset} without the end-of-archive marker`);
      }
      if (isZeroBlock(block)) {
        const second = await this.readBlock();
        if (second !== null && !isZeroBlock(second)) {
          throw new TarFormatError(`a lone zero block at byte ${this.entryOffset} is followed by data`);
        }
        this.finished = true;
        this.trailingBytes = await this.src.drain();
        return null;
      }
      const h = parseHeader(block);
      switch (h.typeflag) {
        case 'x':
          for (const [k, v] of parsePax(await this.readMeta(h.size, 'PAX'))) pax.set(k, v);
          continue;
        case 'g':
          for (const [k, v] of parsePax(await this.readMeta(h.size, 'PAX global'))) this.global.set(k, v);
          continue;
        case 'L':
          longName = stripTrailingNuls(await this.readMeta(h.size, 'GNU long name'));
          continue;
        case 'K':
          longLink = stripTrailingNuls(await this.readMeta(h.size, 'GNU long link'));
          continue;
      }
      const type = typeOfFlag(h.typeflag);
      const shownName = (longName ?? h.nameBytes).toString('utf8');
      if (type === undefined) {
        const what = h.typeflag === 'S' ? 'GNU sparse file' : `type ${JSON.stringify(h.typeflag)}`;
        throw new TarFormatError(`entry ${JSON.stringify(shownName)}: unsupported tar entry (${what})`);
      }
      if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size')) {
        throw new TarFormatError(`entry ${JSON.stringify(shownName)}: unsupported tar entry (PAX sparse file)`);
      }
      const merged = new Map([...this.global, ...pax]);
      pax = merged;
      const nameBytes = pax.get('path') ?? longName ?? h.nameBytes;
      const linkBytes = pax.get('linkpath') ?? longLink ?? h.linknameBytes;
      const size = paxNumber(pax, 'size', h.size, true);
      if (size < 0) throw new TarFormatError(`entry ${JSON.stringify(shownName)}: negative size`);
      const entry: TarEntry = {
        name: decodeName(nameBytes, 'entry name'),
        type,
        mode: h.mode & 0o7777,
        uid: paxNumber(pax, 'uid', h.uid, true),
        gid: paxNumber(pax, 'gid', h.gid, true),
        size,
        mtime: paxNumber(pax, 'mtime', h.mtime, false),
        linkname: decodeName(linkBytes, `link target of ${JSON.stringify(shownName)}`),
        devmajor: h.devmajor,
        devminor: h.devminor,
        xattrs: paxXattrs(pax),
      };
      this.remaining = size;
      this.pad = paddingFor(size);
      return entry;
    }
  }

  /** The current entry's data, as slices valid until the next read. */
  async *body(): AsyncGenerator<Buffer> {
    for await (const chunk of this.src.read(this.remaining)) {
      this.remaining -= chunk.length;
      yield chunk;
    }
  }
}

/**
 * The tar on-disk format: ustar header blocks, GNU and PAX extensions.
 * Pure functions over bytes; the streaming reader and writer build on them.
 */

export const BLOCK = 512;

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One archive member after all extension headers were folded in. */
export interface TarEntry {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch; may carry a fraction (PAX mtime). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (PAX SCHILY.xattr.* / LIBARCHIVE.xattr.*), raw values. */
  xattrs: Map<string, Buffer>;
}

/** The fields of one ustar header block as written, before extensions apply. */
export interface RawHeader {
  nameBytes: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linknameBytes: Buffer;
  devmajor: number;
  devminor: number;
  /** Header ends in ustar\0 (POSIX: prefix field holds the name's leading part). */
  posix: boolean;
}

export const TYPEFLAG: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export function typeOfFlag(flag: string): EntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7': // contiguous file: an ordinary file everywhere that matters
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return undefined;
  }
}

export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Bytes of a NUL-terminated header field (a full field has no terminator). */
function cString(block: Buffer, off: number, len: number): Buffer {
  const end = block.indexOf(0, off);
  return block.subarray(off, end === -1 || end > off + len ? off + len : end);
}

/** A numeric field: octal text, or GNU base-256 when the high bit of the first byte is set. */
export function parseNumeric(block: Buffer, off: number, len: number, field: string): number {
  const first = block[off]!;
  if (first & 0x80) {
    // base-256, two's complement; 0xff lead byte means negative.
    const negative = first === 0xff;
    let value = 0;
    for (let i = 0; i < len; i++) {
      let byte = block[off + i]!;
      if (i === 0) byte &= 0x7f;
      if (negative) byte = ~byte & 0xff;
      value = value * 256 + byte;
      if (!Number.isSafeInteger(value)) throw new TarFormatError(`tar header field ${field} is too large`);
    }
    return negative ? -(value + 1) : value;
  }
  let text = block.toString('latin1', off, off + len);
  const nul = text.indexOf('\0');
  if (nul !== -1) text = text.slice(0, nul);
  text = text.trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TarFormatError(`tar header field ${field} is not octal: ${JSON.stringify(text)}`);
  }
  return parseInt(text, 8);
}

function checksumOf(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

export function parseHeader(block: Buffer): RawHeader {
  const sum = checksumOf(block);
  let stored: number | undefined;
  try {
    stored = parseNumeric(block, 148, 8, 'chksum');
  } catch {
    stored = undefined;
  }
  if (stored !== sum.unsigned && stored !== sum.signed) {
    const shown = stored ?? JSON.stringify(block.toString('latin1', 148, 156));
    throw new TarFormatError(`tar header checksum mismatch (stored ${shown}, computed ${sum.unsigned}): not a tar stream or corrupt`);
  }
  const magic = block.toString('latin1', 257, 263);
  const posix = magic === 'ustar\0';
  let nameBytes = cString(block, 0, 100);
  if (posix) {
    const prefix = cString(block, 345, 155);
    if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from('/'), nameBytes]);
  }
  return {
    nameBytes,
    mode: parseNumeric(block, 100, 8, 'mode'),
    uid: parseNumeric(block, 108, 8, 'uid'),
    gid: parseNumeric(block, 116, 8, 'gid'),
    size: parseNumeric(block, 124, 12, 'size'),
    mtime: parseNumeric(block, 136, 12, 'mtime'),
    typeflag: String.fromCharCode(block[156]!),
    linknameBytes: cString(block, 157, 100),
    devmajor: posix || magic === 'ustar ' ? parseNumeric(block, 329, 8, 'devmajor') : 0,
    devminor: posix || magic === 'ustar ' ? parseNumeric(block, 337, 8, 'devminor') : 0,
    posix,
  };
}

/** PAX extended header records: "<len> <key>=<value>\n"; values stay bytes (xattrs are binary). */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, off);
    if (space === -1 || space - off > 20) throw new TarFormatError('corrupt PAX header: record without a length');
    const lenText = data.toString('latin1', off, space);
    if (!/^[0-9]+$/.test(lenText)) throw new TarFormatError(`corrupt PAX header: bad record length ${JSON.stringify(lenText)}`);
    const len = parseInt(lenText, 10);
    const end = off + len;
    if (len <= space - off + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw new TarFormatError('corrupt PAX header: record length does not match its content');
    }
    const eq = data.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= end) throw new TarFormatError('corrupt PAX header: record without "="');
    const key = data.toString('utf8', space + 1, eq);
    out.set(key, data.subarray(eq + 1, end - 1));
    off = end;
  }
  return out;
}

// ---- encoding ----

function writeString(block: Buffer, off: number, len: number, bytes: Buffer): void {
  bytes.copy(block, off, 0, Math.min(len, bytes.length));
}

/** Octal with NUL terminator; base-256 when it does not fit (GNU, understood by every modern reader). */
function writeNumeric(block: Buffer, off: number, len: number, value: number): void {
  const v = Math.trunc(value);
  const octal = v >= 0 ? v.toString(8) : '';
  if (v >= 0 && octal.length <= len - 1) {
    block.write(octal.padStart(len - 1, '0') + '\0', off, len, 'latin1');
    return;
  }
  let rest = v < 0 ? -(v + 1) : v;
  for (let i = len - 1; i >= 0; i--) {
    const byte = rest % 256;
    block[off + i] = v < 0 ? ~byte & 0xff : byte;
    rest = Math.floor(rest / 256);
  }
  block[off] = v < 0 ? 0xff : 0x80;
}

export interface HeaderFields {
  nameBytes: Buffer;
  prefixBytes?: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linknameBytes?: Buffer;
  devmajor?: number;
  devminor?: number;
}

export function encodeHeaderBlock(f: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, f.nameBytes);
  writeNumeric(block, 100, 8, f.mode & 0o7777);
  writeNumeric(block, 108, 8, f.uid);
  writeNumeric(block, 116, 8, f.gid);
  writeNumeric(block, 124, 12, f.size);
  writeNumeric(block, 136, 12, f.mtime);
  block.write(f.typeflag, 156, 1, 'latin1');
  if (f.linknameBytes) writeString(block, 157, 100, f.linknameBytes);
  block.write('ustar\x0000', 257, 8, 'latin1');
  writeNumeric(block, 329, 8, f.devmajor ?? 0);
  writeNumeric(block, 337, 8, f.devminor ?? 0);
  if (f.prefixBytes) writeString(block, 345, 155, f.prefixBytes);
  block.fill(0x20, 148, 156);
  const { unsigned } = checksumOf(block);
  block.write(unsigned.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return block;
}

/** One PAX record; its length prefix counts itself, so settle it by iteration. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function paddingFor(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

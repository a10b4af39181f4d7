/**
 * The tar on-disk format: ustar header blocks with the GNU and PAX
 * extensions. Pure functions over bytes; the streaming reader and the
 * writer build on them.
 */
import { TarFormatError } from './errors.js';

export const BLOCK = 512;

/** The member types berth handles; every other typeflag is refused by the reader. */
export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export const TYPEFLAG: Readonly<Record<EntryType, string>> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** Extension typeflags: records about the next member, not members themselves. */
export const PAX_TYPEFLAG = 'x';
export const PAX_GLOBAL_TYPEFLAG = 'g';
export const GNU_LONGNAME_TYPEFLAG = 'L';
export const GNU_LONGLINK_TYPEFLAG = 'K';

export function typeOfFlag(flag: string): EntryType | undefined {
  switch (flag) {
    case '0':
    case '\0': // pre-POSIX regular file
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

/** Types whose size field never announces data (as Go's archive/tar, hence containerd, reads them). */
export function isHeaderOnly(type: EntryType): boolean {
  return type !== 'file';
}

/** The fields of one header block as written, before extension records apply. */
export interface RawHeader {
  nameBytes: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linknameBytes: Buffer;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

export function paddingFor(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

/** Bytes of a NUL-terminated header field (a full field has no terminator). */
function cString(block: Buffer, off: number, len: number): Buffer {
  const end = block.indexOf(0, off);
  return block.subarray(off, end === -1 || end > off + len ? off + len : end);
}

/** A numeric field: octal text, or GNU base-256 when the high bit of the first byte is set. */
export function parseNumeric(block: Buffer, off: number, len: number, field: string, at = 0): number {
  const first = block[off]!;
  if (first & 0x80) {
    // base-256: 0x80 leads a positive number; 0xff a negative one, the whole field in two's complement
    const negative = first === 0xff;
    let value = 0;
    for (let i = 0; i < len; i++) {
      let byte = block[off + i]!;
      if (negative) byte = ~byte & 0xff;
      else if (i === 0) byte &= 0x7f;
      value = value * 256 + byte;
      if (!Number.isSafeInteger(value)) throw new TarFormatError(`tar header at offset ${at}: field ${field} is too large`, { offset: at });
    }
    return negative ? -(value + 1) : value;
  }
  let text = block.toString('latin1', off, off + len);
  const nul = text.indexOf('\0');
  if (nul !== -1) text = text.slice(0, nul);
  text = text.trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TarFormatError(`tar header at offset ${at}: field ${field} is not octal: ${JSON.stringify(text)}`, { offset: at });
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

/** Decodes one header block found at stream offset `at`; a wrong checksum means corrupt data or no tar at all. */
export function parseHeader(block: Buffer, at = 0): RawHeader {
  const sum = checksumOf(block);
  let stored: number | undefined;
  try {
    stored = parseNumeric(block, 148, 8, 'chksum', at);
  } catch {
    stored = undefined;
  }
  if (stored !== sum.unsigned && stored !== sum.signed) {
    const shown = stored ?? JSON.stringify(block.toString('latin1', 148, 156));
    throw new TarFormatError(`bad header checksum at offset ${at} (stored ${shown}, computed ${sum.unsigned}): not a tar archive, or corrupt`, {
      offset: at,
    });
  }
  const magic = block.toString('latin1', 257, 263);
  const posix = magic === 'ustar\0';
  const ustarish = posix || magic === 'ustar ';
  let nameBytes = cString(block, 0, 100);
  if (posix) {
    const prefix = cString(block, 345, 155);
    if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from('/'), nameBytes]);
  }
  return {
    nameBytes,
    mode: parseNumeric(block, 100, 8, 'mode', at),
    uid: parseNumeric(block, 108, 8, 'uid', at),
    gid: parseNumeric(block, 116, 8, 'gid', at),
    size: parseNumeric(block, 124, 12, 'size', at),
    mtime: parseNumeric(block, 136, 12, 'mtime', at),
    typeflag: String.fromCharCode(block[156]!),
    linknameBytes: cString(block, 157, 100),
    uname: ustarish ? cString(block, 265, 32).toString('utf8') : '',
    gname: ustarish ? cString(block, 297, 32).toString('utf8') : '',
    devmajor: ustarish ? parseNumeric(block, 329, 8, 'devmajor', at) : 0,
    devminor: ustarish ? parseNumeric(block, 337, 8, 'devminor', at) : 0,
  };
}

/** PAX extended header records: "<len> <key>=<value>\n"; values stay bytes (xattrs are binary). */
export function parsePax(data: Buffer, at = 0): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const corrupt = (why: string) => new TarFormatError(`corrupt PAX header at offset ${at}: ${why}`, { offset: at });
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, off);
    if (space === -1 || space - off > 20) throw corrupt('record without a length');
    const lenText = data.toString('latin1', off, space);
    if (!/^[0-9]+$/.test(lenText)) throw corrupt(`bad record length ${JSON.stringify(lenText)}`);
    const len = parseInt(lenText, 10);
    const end = off + len;
    if (len <= space - off + 1 || end > data.length || data[end - 1] !== 0x0a) throw corrupt('record length does not match its content');
    const eq = data.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= end) throw corrupt('record without "="');
    out.set(data.toString('utf8', space + 1, eq), data.subarray(eq + 1, end - 1));
    off = end;
  }
  return out;
}

// ---- encoding ----

/** Octal with a NUL terminator; GNU base-256 when it does not fit (understood by every modern reader). */
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

/** Largest values of the 8- and 12-byte octal fields. */
export const MAX_OCTAL_8 = 0o7777777;
export const MAX_OCTAL_12 = 0o77777777777;

/** What encodeHeaderBlock writes: the fields of RawHeader, the less common ones optional. */
export type HeaderFields = Pick<RawHeader, 'nameBytes' | 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'typeflag'> &
  Partial<Pick<RawHeader, 'linknameBytes' | 'uname' | 'gname' | 'devmajor' | 'devminor'>>;

/** One ustar header block ("ustar\0" "00" magic, checksum "%06o\0 "), exactly as the fields say. */
export function encodeHeaderBlock(f: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  f.nameBytes.copy(block, 0, 0, Math.min(100, f.nameBytes.length));
  writeNumeric(block, 100, 8, f.mode & MAX_OCTAL_8);
  writeNumeric(block, 108, 8, f.uid);
  writeNumeric(block, 116, 8, f.gid);
  writeNumeric(block, 124, 12, f.size);
  writeNumeric(block, 136, 12, f.mtime);
  block.write(f.typeflag, 156, 1, 'latin1');
  if (f.linknameBytes) f.linknameBytes.copy(block, 157, 0, Math.min(100, f.linknameBytes.length));
  block.write('ustar\x0000', 257, 8, 'latin1');
  block.write((f.uname ?? '').slice(0, 31), 265, 31, 'utf8');
  block.write((f.gname ?? '').slice(0, 31), 297, 31, 'utf8');
  writeNumeric(block, 329, 8, f.devmajor ?? 0);
  writeNumeric(block, 337, 8, f.devminor ?? 0);
  block.fill(0x20, 148, 156);
  const { unsigned } = checksumOf(block);
  block.write(unsigned.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return block;
}

/** One PAX record; its length prefix counts itself, so it is settled by iteration. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

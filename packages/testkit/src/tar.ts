// A tar (ustar + PAX) encoder that writes exactly what it is given: names,
// link names, types, modes and sizes pass through unchecked, so tests can
// craft hostile archives ('../x', absolute paths, NUL bytes, bogus types,
// lying sizes). Output is a pure function of the input: no clocks, no host
// user names.

export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'char'
  | 'block'
  | 'dir'
  | 'fifo'
  | 'contiguous'
  | 'pax'
  | 'pax-global'
  | 'gnu-longname'
  | 'gnu-longlink';

const TYPEFLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  contiguous: '7',
  pax: 'x',
  'pax-global': 'g',
  'gnu-longname': 'L',
  'gnu-longlink': 'K',
};

export interface RawTarEntry {
  /** Header name, written byte for byte (a string is UTF-8 encoded); names over 100 bytes go into a PAX `path` record. */
  name: string | Buffer;
  /** A named type, a one-character typeflag ('Z'), or a typeflag byte (0 for a pre-POSIX regular file). */
  type: TarEntryType | string | number;
  /** Mode field (permission bits, optionally with file type bits); default 0o644. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Modification time in seconds since the epoch; default FIXED_MTIME. */
  mtime?: number;
  linkname?: string | Buffer;
  content?: Buffer | string;
  /** Size written in the header; default the content's length. Any other value yields a malformed archive, on purpose. */
  size?: number;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records, e.g. { 'SCHILY.xattr.user.k': 'v' }. */
  pax?: Record<string, string | Buffer>;
}

/** 2020-01-01T00:00:00Z: the mtime every generated entry gets unless told otherwise. */
export const FIXED_MTIME = 1577836800;

const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

export function typeflagOf(type: RawTarEntry['type']): number {
  if (typeof type === 'number') return type;
  const named = TYPEFLAGS[type as TarEntryType];
  if (named) return named.charCodeAt(0);
  if (type.length === 1) return type.charCodeAt(0);
  throw new Error(`tar entry type ${JSON.stringify(type)} is neither a known type nor a single typeflag character`);
}

function bytes(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  // width-1 octal digits then NUL, as GNU and Go write them
  const digits = Math.max(0, Math.trunc(value)).toString(8).padStart(width - 1, '0');
  buf.write(digits.slice(-(width - 1)), offset, 'ascii');
  buf[offset + width - 1] = 0;
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "%d %s=%s\n" where %d counts the whole record including its own digits
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function ustarHeader(fields: {
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: Buffer;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  fields.name.copy(h, 0, 0, Math.min(100, fields.name.length));
  writeOctal(h, 100, 8, fields.mode & MAX_OCTAL_7);
  writeOctal(h, 108, 8, fields.uid > MAX_OCTAL_7 ? 0 : fields.uid);
  writeOctal(h, 116, 8, fields.gid > MAX_OCTAL_7 ? 0 : fields.gid);
  writeOctal(h, 124, 12, fields.size > MAX_OCTAL_11 ? 0 : fields.size);
  writeOctal(h, 136, 12, fields.mtime > MAX_OCTAL_11 ? 0 : fields.mtime);
  h[156] = fields.typeflag;
  fields.linkname.copy(h, 157, 0, Math.min(100, fields.linkname.length));
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(fields.uname.slice(0, 31), 265, 'utf8');
  h.write(fields.gname.slice(0, 31), 297, 'utf8');
  writeOctal(h, 329, 8, fields.devmajor);
  writeOctal(h, 337, 8, fields.devminor);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0'), 148, 'ascii');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** Header block(s), content and padding of one entry. */
export function encodeTarEntry(entry: RawTarEntry): Buffer[] {
  const name = bytes(entry.name);
  const linkname = bytes(entry.linkname ?? '');
  const content = entry.content === undefined ? Buffer.alloc(0) : bytes(entry.content);
  const size = entry.size ?? content.length;
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  const mtime = entry.mtime ?? FIXED_MTIME;

  const records: Buffer[] = [];
  if (name.length > 100) records.push(paxRecord('path', name));
  if (linkname.length > 100) records.push(paxRecord('linkpath', linkname));
  if (uid > MAX_OCTAL_7) records.push(paxRecord('uid', Buffer.from(String(uid))));
  if (gid > MAX_OCTAL_7) records.push(paxRecord('gid', Buffer.from(String(gid))));
  if (size > MAX_OCTAL_11) records.push(paxRecord('size', Buffer.from(String(size))));
  for (const key of Object.keys(entry.pax ?? {}).sort()) {
    records.push(paxRecord(key, bytes((entry.pax ?? {})[key] ?? '')));
  }

  const out: Buffer[] = [];
  if (records.length > 0) {
    const paxData = Buffer.concat(records);
    const base = name.subarray(name.lastIndexOf(0x2f) + 1);
    out.push(
      ustarHeader({
        name: Buffer.concat([Buffer.from('PaxHeaders.0/'), base]).subarray(0, 100),
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: paxData.length,
        mtime,
        typeflag: 'x'.charCodeAt(0),
        linkname: Buffer.alloc(0),
        uname: '',
        gname: '',
        devmajor: 0,
        devminor: 0,
      }),
      paxData,
      padding(paxData.length),
    );
  }
  out.push(
    ustarHeader({
      name,
      mode: entry.mode ?? 0o644,
      uid,
      gid,
      size,
      mtime,
      typeflag: typeflagOf(entry.type),
      linkname,
      uname: entry.uname ?? '',
      gname: entry.gname ?? '',
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
    }),
  );
  if (content.length > 0) out.push(content, padding(content.length));
  return out;
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** A whole archive, entries in the order given. */
export function encodeTar(entries: readonly RawTarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(encodeTarEntry), endOfArchive()]);
}

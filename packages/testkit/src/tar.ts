// Raw tar entries for test layers, encoded by @berth/tar exactly as given:
// names, link names, types, modes and sizes pass through unchecked, so tests
// can craft hostile archives ('../x', absolute paths, NUL bytes, bogus types,
// lying sizes). Output is a pure function of the input: no clocks, no host
// user names.
import { TYPEFLAG, encodeEntryHeader, endOfArchive, padding, typeOfFlag, type EntryType, type WriteEntry } from '@berth/tar';

export type TarEntryType = EntryType | 'contiguous' | 'pax' | 'pax-global' | 'gnu-longname' | 'gnu-longlink';

/** Typeflags of the named types that are not member types of their own. */
const EXTRA_TYPEFLAGS: Readonly<Record<string, string>> = {
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

/** The member type and, where it is not that type's own, the typeflag to write. */
function typeOf(given: RawTarEntry['type']): { type: EntryType; typeflag?: string } {
  const type = typeof given === 'number' ? String.fromCharCode(given) : given;
  if (type in TYPEFLAG) return { type: type as EntryType };
  const extra = EXTRA_TYPEFLAGS[type];
  if (extra !== undefined) return { type: 'file', typeflag: extra };
  if (type.length === 1) return { type: typeOfFlag(type) ?? 'file', typeflag: type };
  throw new Error(`tar entry type ${JSON.stringify(type)} is neither a known type nor a single typeflag character`);
}

/** Header block(s), content and padding of one entry. */
export function encodeTarEntry(entry: RawTarEntry): Buffer[] {
  const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
  const write: WriteEntry = {
    ...typeOf(entry.type),
    name: entry.name,
    mode: entry.mode ?? 0o644,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size: entry.size ?? content.length,
    mtime: entry.mtime ?? FIXED_MTIME,
    ...(entry.uname !== undefined ? { uname: entry.uname } : {}),
    ...(entry.gname !== undefined ? { gname: entry.gname } : {}),
    ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
    ...(entry.devmajor !== undefined ? { devmajor: entry.devmajor } : {}),
    ...(entry.devminor !== undefined ? { devminor: entry.devminor } : {}),
    ...(entry.pax !== undefined ? { pax: entry.pax } : {}),
  };
  const out = [encodeEntryHeader(write)];
  if (content.length > 0) out.push(content, padding(content.length));
  return out;
}

/** A whole archive, entries in the order given. */
export function encodeTar(entries: readonly RawTarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(encodeTarEntry), endOfArchive()]);
}

export { endOfArchive };

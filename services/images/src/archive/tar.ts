// A small streaming tar reader and writer (POSIX ustar with PAX extended
// headers for long names and large sizes; GNU long names are read too). Enough
// for image archives: regular files, directories, symlinks and hardlinks.
import type { Readable, Writable } from 'node:stream';
import { invalidArgument } from '../errors.js';

const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  mtime: number;
  linkname: string;
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; read it fully or not at all before asking for the next entry. */
  body: AsyncIterable<Buffer>;
}

// ---------- reading ----------

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  offset = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
        this.buffered.push(chunk);
        this.length += chunk.byteLength;
      }
    }
  }

  /** Up to `max` bytes already available (reading more only when none are). */
  async some(max: number): Promise<Buffer | null> {
    await this.fill(1);
    if (this.length === 0) return null;
    const first = this.buffered[0]!;
    const take = Math.min(max, first.byteLength);
    const out = first.subarray(0, take);
    if (take === first.byteLength) this.buffered.shift();
    else this.buffered[0] = first.subarray(take);
    this.length -= take;
    this.offset += take;
    return out;
  }

  /** Exactly n bytes; null at a clean end (no bytes at all); throws on a short read. */
  async exact(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.length === 0) return null;
    if (this.length < n) throw invalidArgument(`truncated tar archive: wanted ${n} bytes at offset ${this.offset}, got ${this.length}`);
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const part = (await this.some(need))!;
      parts.push(part);
      need -= part.byteLength;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const part = await this.some(left);
      if (!part) throw invalidArgument(`truncated tar archive: ${left} bytes missing at offset ${this.offset}`);
      left -= part.byteLength;
    }
  }
}

function cString(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number, what: string, at: number): number {
  const field = buf.subarray(start, start + len);
  if (field[0]! & 0x80) {
    // GNU base-256 for large values.
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const text = cString(buf, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalidArgument(`corrupt tar header at offset ${at}: ${what} ${JSON.stringify(text)} is not octal`);
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = cString(block, 148, 8).trim();
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return parseInt(stored, 8) === sum;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isSafeInteger(len) || len <= 0) throw invalidArgument('corrupt PAX header in tar archive');
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'hardlink' };

/** Reads a tar stream entry by entry. */
export async function* readTar(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable): AsyncGenerator<TarEntry> {
  const chunks = (async function* () {
    for await (const chunk of input as AsyncIterable<Uint8Array>) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  })();
  const reader = new ByteReader(chunks);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const at = reader.offset;
    const block = await reader.exact(BLOCK);
    if (!block || block.every((b) => b === 0)) return; // end-of-archive marker (or a clean end)
    if (!checksumOk(block)) throw invalidArgument(`corrupt tar archive: bad header checksum at offset ${at}`);
    const typeflag = String.fromCharCode(block[156]!);
    let size = octal(block, 124, 12, 'size', at);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > 1024 * 1024) throw invalidArgument(`tar extended header at offset ${at} is too large (${size} bytes)`);
      const data = (await reader.exact(padded)) ?? Buffer.alloc(0);
      const content = data.subarray(0, size);
      if (typeflag === 'x') pax = { ...pax, ...parsePax(content) };
      else if (typeflag === 'L') longName = cString(content, 0, content.length);
      else if (typeflag === 'K') longLink = cString(content, 0, content.length);
      continue; // 'g' (global) headers carry nothing berth needs
    }
    const prefix = block.subarray(257, 263).toString('latin1').startsWith('ustar') ? cString(block, 345, 155) : '';
    let name = cString(block, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    name = pax.path ?? longName ?? name;
    const linkname = pax.linkpath ?? longLink ?? cString(block, 157, 100);
    if (pax.size !== undefined) size = Number(pax.size);
    const header: TarHeader = {
      name,
      type: TYPES[typeflag] ?? 'other',
      size: entrySize(typeflag, size),
      mode: octal(block, 100, 8, 'mode', at),
      mtime: octal(block, 136, 12, 'mtime', at),
      linkname,
    };
    pax = {};
    longName = undefined;
    longLink = undefined;
    const dataPadded = Math.ceil(header.size / BLOCK) * BLOCK;
    let consumed = 0;
    const body = (async function* () {
      while (consumed < header.size) {
        const part = await reader.some(header.size - consumed);
        if (!part) throw invalidArgument(`truncated tar archive: entry ${JSON.stringify(name)} is missing ${header.size - consumed} bytes`);
        consumed += part.byteLength;
        yield part;
      }
    })();
    yield { header, body };
    // Skip whatever the consumer did not read, plus padding.
    await reader.skip(header.size - consumed + (dataPadded - header.size));
  }
}

/** Links and directories carry no data even if a size is set. */
function entrySize(typeflag: string, size: number): number {
  return typeflag === '1' || typeflag === '2' || typeflag === '5' ? 0 : size;
}

// ---------- writing ----------

export interface TarFileOptions {
  mode?: number;
  /** Seconds since the epoch; default 0 so archives are reproducible. */
  mtime?: number;
}

function writeString(block: Buffer, value: string, start: number, len: number): void {
  block.write(value, start, len, 'utf8');
}

function writeOctal(block: Buffer, value: number, start: number, len: number): void {
  block.write(value.toString(8).padStart(len - 1, '0') + '\0', start, len, 'ascii');
}

function paxRecord(key: string, value: string): string {
  // "<len> key=value\n" where <len> counts itself: iterate until the digit count settles.
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + String(bodyLen).length;
  while (bodyLen + String(len).length !== len) len = bodyLen + String(len).length;
  return `${len}${body}`;
}

function headerBlock(name: string, typeflag: string, size: number, mode: number, mtime: number, linkname = ''): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, name, 0, 100);
  writeOctal(block, mode, 100, 8);
  writeOctal(block, 0, 108, 8);
  writeOctal(block, 0, 116, 8);
  writeOctal(block, size, 124, 12);
  writeOctal(block, mtime, 136, 12);
  block.fill(0x20, 148, 156);
  block.write(typeflag, 156, 1, 'ascii');
  writeString(block, linkname, 157, 100);
  block.write('ustar\0', 257, 6, 'latin1');
  block.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

const MAX_OCTAL_SIZE = 0o77777777777;

export class TarWriter {
  private written = 0;
  constructor(private readonly out: Writable) {}

  /** Bytes written so far. */
  get bytes(): number {
    return this.written;
  }

  async addFile(name: string, size: number, source: Buffer | AsyncIterable<Buffer>, opts: TarFileOptions = {}): Promise<void> {
    await this.header(name, '0', size, opts.mode ?? 0o444, opts.mtime ?? 0);
    let sent = 0;
    if (Buffer.isBuffer(source)) {
      await this.write(source);
      sent = source.byteLength;
    } else {
      for await (const chunk of source) {
        sent += chunk.byteLength;
        if (sent > size) throw new Error(`tar entry ${name}: source has more than the declared ${size} bytes`);
        await this.write(chunk);
      }
    }
    if (sent !== size) throw new Error(`tar entry ${name}: source had ${sent} bytes, ${size} declared`);
    await this.pad(size);
  }

  async addDirectory(name: string, opts: TarFileOptions = {}): Promise<void> {
    await this.header(name.endsWith('/') ? name : `${name}/`, '5', 0, opts.mode ?? 0o755, opts.mtime ?? 0);
  }

  async addSymlink(name: string, target: string, opts: TarFileOptions = {}): Promise<void> {
    await this.header(name, '2', 0, opts.mode ?? 0o777, opts.mtime ?? 0, target);
  }

  /** Writes the end-of-archive marker (two zero blocks). Does not end `out`. */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
  }

  private async header(name: string, typeflag: string, size: number, mode: number, mtime: number, linkname = ''): Promise<void> {
    const records: string[] = [];
    if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', name));
    if (Buffer.byteLength(linkname) > 100) records.push(paxRecord('linkpath', linkname));
    if (size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(size)));
    if (records.length > 0) {
      const data = Buffer.from(records.join(''));
      await this.write(headerBlock('PaxHeader', 'x', data.byteLength, 0o644, mtime));
      await this.write(data);
      await this.pad(data.byteLength);
    }
    await this.write(
      headerBlock(
        Buffer.byteLength(name) > 100 ? name.slice(0, 99) : name,
        typeflag,
        size > MAX_OCTAL_SIZE ? 0 : size,
        mode,
        mtime,
        Buffer.byteLength(linkname) > 100 ? linkname.slice(0, 99) : linkname,
      ),
    );
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.write(Buffer.alloc(BLOCK - rest));
  }

  private write(buf: Buffer): Promise<void> {
    this.written += buf.byteLength;
    return new Promise((resolve, reject) => {
      if (this.out.destroyed) {
        reject(new Error('archive output closed'));
        return;
      }
      const ok = this.out.write(buf, (err) => {
        if (err) reject(err);
      });
      if (ok) resolve();
      else {
        const onDrain = () => {
          this.out.off('error', onError);
          this.out.off('close', onClose);
          resolve();
        };
        const onError = (err: Error) => {
          this.out.off('drain', onDrain);
          this.out.off('close', onClose);
          reject(err);
        };
        const onClose = () => {
          this.out.off('drain', onDrain);
          this.out.off('error', onError);
          reject(new Error('archive output closed'));
        };
        this.out.once('drain', onDrain);
        this.out.once('error', onError);
        this.out.once('close', onClose);
      }
    });
  }
}

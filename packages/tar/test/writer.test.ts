import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TarWriter, buildTar, encodeEntryHeader } from '../src/index.js';
import { readAll } from './helpers.js';

function collector(): { sink: (c: Buffer) => void; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return { sink: (c) => void parts.push(Buffer.from(c)), bytes: () => Buffer.concat(parts) };
}

describe('TarWriter', () => {
  it('streams members with bodies from buffers and iterables; one-call helpers name directories with a "/"', async () => {
    const out = collector();
    const tar = new TarWriter(out.sink);
    await tar.addDirectory('dir', { mode: 0o750 });
    await tar.addFile('dir/a', 5, Buffer.from('hello'));
    await tar.addFile(
      'dir/b',
      3,
      (async function* () {
        yield Buffer.from('x');
        yield new Uint8Array([0x79, 0x7a]);
      })(),
      { mode: 0o600, mtime: 42 },
    );
    await tar.addSymlink('link', 'dir/a');
    await tar.add({ name: 'dev', type: 'char', devmajor: 1, devminor: 7 });
    await tar.finish();
    const bytes = out.bytes();
    expect(tar.bytes).toBe(bytes.length);
    expect(bytes.length % 512).toBe(0);
    const got = await readAll(bytes);
    expect(got.map((g) => [g.entry.name, g.entry.type, g.entry.mode, g.body.toString()])).toEqual([
      ['dir/', 'dir', 0o750, ''],
      ['dir/a', 'file', 0o644, 'hello'],
      ['dir/b', 'file', 0o600, 'xyz'],
      ['link', 'symlink', 0o777, ''],
      ['dev', 'char', 0o644, ''],
    ]);
    expect(got[2]!.entry.mtime).toBe(42);
  });

  it('refuses a body longer or shorter than declared, or missing', async () => {
    const tar = new TarWriter(() => undefined);
    await expect(tar.addFile('long', 2, Buffer.from('abc'))).rejects.toThrow('tar writer: entry "long" has more than the declared 2 bytes (changed while being written?)');
    const short = (async function* () {
      yield Buffer.from('a');
    })();
    await expect(tar.addFile('short', 2, short)).rejects.toThrow('tar writer: entry "short" has 1 bytes, 2 declared (changed while being written?)');
    await expect(tar.add({ name: 'none', type: 'file', size: 10 })).rejects.toThrow('tar writer: entry "none" declares 10 bytes but has no body');
  });

  it('writes to a Writable, waiting on backpressure, and fails when the stream is gone', async () => {
    const out = new PassThrough({ highWaterMark: 1024 });
    const tar = new TarWriter(out);
    const writing = (async () => {
      await tar.addFile('big', 200_000, Buffer.alloc(200_000, 1));
      await tar.finish();
      out.end();
    })();
    const parts: Buffer[] = [];
    for await (const c of out) parts.push(c as Buffer);
    await writing;
    const got = await readAll(Buffer.concat(parts));
    expect(got[0]!.body.equals(Buffer.alloc(200_000, 1))).toBe(true);

    const closed = new Writable({ highWaterMark: 1, write: (_c, _e, cb) => setImmediate(cb) });
    const broken = new TarWriter(closed);
    const pending = broken.addFile('x', 100_000, Buffer.alloc(100_000));
    closed.destroy();
    await expect(pending).rejects.toThrow(/tar output (is closed|closed before the archive was written)/);
  });

  it('encodeEntryHeader writes what it is given: hostile names, other typeflags, lying sizes', async () => {
    const header = encodeEntryHeader({ name: '../escape', type: 'file', size: 4096, typeflag: 'Z', mode: 0o100644 });
    expect(header.length).toBe(512);
    expect(header.subarray(0, 10).toString()).toBe('../escape\0');
    expect(String.fromCharCode(header[156]!)).toBe('Z');
    expect(header.subarray(124, 135).toString()).toBe((4096).toString(8).padStart(11, '0'));
    expect(header.subarray(100, 107).toString()).toBe('0100644');
    // a name the 100-byte field cannot hold travels in a PAX record, named like Go's writer names it
    const long = encodeEntryHeader({ name: `dir/${'n'.repeat(200)}`, type: 'file' });
    expect(long.length).toBe(512 * 3);
    expect(long.subarray(0, 13).toString()).toBe('PaxHeaders.0/');
    expect(String.fromCharCode(long[156]!)).toBe('x');
  });

  it('big ids, sizes and out-of-range times go into PAX records; the header keeps what fits', async () => {
    const got = await readAll(buildTar([{ entry: { name: 'f', type: 'file', uid: 2 ** 40, gid: 5, mtime: -10.25 } }]));
    expect(got[0]!.entry).toMatchObject({ uid: 2 ** 40, gid: 5, mtime: -10.25 });
    const huge = encodeEntryHeader({ name: 'h', type: 'file', size: 2 ** 34 });
    expect(huge.toString('latin1')).toContain(`size=${2 ** 34}\n`);
  });
});

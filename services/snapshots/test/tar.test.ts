import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsHelper } from '../src/fsops/helper.js';
import { ByteSource } from '../src/tar/byte-source.js';
import { TarReader } from '../src/tar/reader.js';
import { buildTar, encodeEntryHeader } from '../src/tar/writer.js';
import type { TarEntry } from '../src/tar/format.js';
import { TempRoots, requireBinaries, streamOf } from './helpers.js';

async function readAll(tar: Buffer, chunk = 333): Promise<{ entry: TarEntry; body: Buffer }[]> {
  const reader = new TarReader(ByteSource.from(streamOf(tar, chunk)));
  const out: { entry: TarEntry; body: Buffer }[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const parts: Buffer[] = [];
    for await (const c of reader.body()) parts.push(Buffer.from(c));
    out.push({ entry: e, body: Buffer.concat(parts) });
  }
  return out;
}

const roots = new TempRoots();
beforeAll(() => requireBinaries('tar'));
afterAll(() => roots.cleanup());

describe('tar writer + reader', () => {
  it('round-trips every entry type, long names both ways, big ids, xattrs and fractional mtimes', async () => {
    const longName = `${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(150)}`;
    const longLink = `target/${'t'.repeat(200)}`;
    for (const gnuLongNames of [false, true]) {
      const tar = buildTar(
        [
          { entry: { name: 'dir', type: 'dir', mode: 0o1777, uid: 1, gid: 2, mtime: 10 } },
          { entry: { name: 'dir/file', type: 'file', mode: 0o4755, uid: 3_000_000, gid: 4, mtime: 1234.5 }, body: 'hello' },
          { entry: { name: longName, type: 'file', xattrs: { 'user.k': Buffer.from([0, 1, 2]), 'security.capability': 'cap' } }, body: 'x'.repeat(1000) },
          { entry: { name: 'sym', type: 'symlink', linkname: longLink } },
          { entry: { name: 'hard', type: 'hardlink', linkname: 'dir/file' } },
          { entry: { name: 'null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 } },
          { entry: { name: 'disk', type: 'block', devmajor: 259, devminor: 70000 } },
          { entry: { name: 'fifo', type: 'fifo' } },
          { entry: { name: 'ünïcødé', type: 'file' }, body: '' },
        ],
        { gnuLongNames },
      );
      for (const chunk of [1, 512, 100_000]) {
        const got = await readAll(tar, chunk);
        expect(got.map((g) => [g.entry.name, g.entry.type])).toEqual([
          ['dir/', 'dir'],
          ['dir/file', 'file'],
          [longName, 'file'],
          ['sym', 'symlink'],
          ['hard', 'hardlink'],
          ['null', 'char'],
          ['disk', 'block'],
          ['fifo', 'fifo'],
          ['ünïcødé', 'file'],
        ]);
        expect(got[0]!.entry).toMatchObject({ mode: 0o1777, uid: 1, gid: 2, mtime: 10 });
        expect(got[1]!.entry).toMatchObject({ mode: 0o4755, uid: 3_000_000, mtime: 1234.5, size: 5 });
        expect(got[1]!.body.toString()).toBe('hello');
        expect(got[2]!.body.toString()).toBe('x'.repeat(1000));
        expect(got[2]!.entry.xattrs.get('user.k')).toEqual(Buffer.from([0, 1, 2]));
        expect(got[2]!.entry.xattrs.get('security.capability')?.toString()).toBe('cap');
        expect(got[3]!.entry.linkname).toBe(longLink);
        expect(got[4]!.entry.linkname).toBe('dir/file');
        expect(got[5]!.entry).toMatchObject({ devmajor: 1, devminor: 3, mode: 0o666 });
        expect(got[6]!.entry).toMatchObject({ devmajor: 259, devminor: 70000 });
      }
    }
  });

  it('reads what GNU tar writes (gnu and posix formats, xattrs) and GNU tar reads what it writes', async () => {
    const base = roots.make();
    const src = join(base, 'src');
    mkdirSync(join(src, 'a'.repeat(90), 'b'.repeat(90)), { recursive: true });
    writeFileSync(join(src, 'a'.repeat(90), 'b'.repeat(90), 'c'.repeat(90)), 'deep');
    writeFileSync(join(src, 'plain'), 'p');
    symlinkSync('plain', join(src, 'link'));
    const helper = new FsHelper();
    await helper.setXattr(join(src, 'plain'), 'user.test', Buffer.from('val'));
    await helper.close();
    for (const format of ['gnu', 'posix']) {
      const out = join(base, `${format}.tar`);
      execFileSync('tar', ['--format', format, '--xattrs', '--xattrs-include=*', '-C', src, '-cf', out, '.']);
      const got = await readAll(readFileSync(out));
      const names = got.map((g) => g.entry.name);
      expect(names).toContain(`./${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(90)}`);
      expect(got.find((g) => g.entry.name === './link')?.entry.linkname).toBe('plain');
      if (format === 'posix') expect(got.find((g) => g.entry.name === './plain')?.entry.xattrs.get('user.test')?.toString()).toBe('val');
    }
    const ours = join(base, 'ours.tar');
    writeFileSync(
      ours,
      buildTar([
        { entry: { name: `${'x'.repeat(200)}/y`, type: 'file' }, body: 'long' },
        { entry: { name: 'l', type: 'symlink', linkname: 'z'.repeat(150) } },
      ]),
    );
    const listing = execFileSync('tar', ['-tvf', ours]).toString();
    expect(listing).toContain(`${'x'.repeat(200)}/y`);
    expect(listing).toContain(`l -> ${'z'.repeat(150)}`);
  }, 30_000);

  it('rejects a corrupt header, a truncated body, a missing end marker and unsupported types', async () => {
    const good = buildTar([{ entry: { name: 'f', type: 'file' }, body: 'x'.repeat(2000) }]);
    const corrupt = Buffer.from(good);
    corrupt[10] = 0x41;
    await expect(readAll(corrupt)).rejects.toThrow(/checksum mismatch/);
    await expect(readAll(good.subarray(0, 1000))).rejects.toThrow(/short of the entry's data|ended/);
    await expect(readAll(good.subarray(0, 512 + 2048))).rejects.toThrow(/without the end-of-archive marker/);
    const sparse = encodeEntryHeader({ name: 's', type: 'file' });
    sparse[156] = 'S'.charCodeAt(0);
    // fix the checksum after changing the type
    sparse.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of sparse) sum += b;
    sparse.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    await expect(readAll(Buffer.concat([sparse, Buffer.alloc(1024)]))).rejects.toThrow(/unsupported tar entry \(GNU sparse file\)/);
  });

  it('refuses names that are not UTF-8 and keeps trailing bytes after the end marker out of the entries', async () => {
    const header = encodeEntryHeader({ name: 'ok', type: 'file' });
    header[0] = 0xff;
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    await expect(readAll(Buffer.concat([header, Buffer.alloc(1024)]))).rejects.toThrow(/not valid UTF-8/);
    const tar = Buffer.concat([buildTar([{ entry: { name: 'a', type: 'file' }, body: 'a' }]), Buffer.alloc(4096)]);
    const reader = new TarReader(ByteSource.from(streamOf(tar)));
    expect((await reader.next())?.name).toBe('a');
    expect(await reader.next()).toBeNull();
    expect(reader.trailingBytes).toBe(4096);
  });
});

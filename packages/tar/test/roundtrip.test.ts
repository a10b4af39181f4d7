import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TarReader, buildTar, encodeEntryHeader, endOfArchive, readTar } from '../src/index.js';
import { TempDirs, closableStream, readAll, requireBinaries, streamOf } from './helpers.js';

const dirs = new TempDirs();
beforeAll(() => requireBinaries('tar', 'python3', 'mknod', 'mkfifo'));

// Node has no xattr calls; python3's os module has
const setXattr = (path: string, name: string, value: string) =>
  execFileSync('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())', path, name, value]);
const getXattr = (path: string, name: string) =>
  execFileSync('python3', ['-c', 'import os, sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2]))', path, name]).toString();
afterAll(() => dirs.cleanup());

describe('writer + reader', () => {
  it('round-trips every member type, long names both ways, big ids, xattrs, owners and fractional mtimes', async () => {
    const longName = `${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(150)}`;
    const longLink = `target/${'t'.repeat(200)}`;
    for (const gnuLongNames of [false, true]) {
      const tar = buildTar(
        [
          { entry: { name: 'dir/', type: 'dir', mode: 0o1777, uid: 1, gid: 2, mtime: 10, uname: 'root', gname: 'wheel' } },
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
        expect(got[0]!.entry).toMatchObject({ mode: 0o1777, uid: 1, gid: 2, mtime: 10, uname: 'root', gname: 'wheel', typeflag: '5' });
        expect(got[1]!.entry).toMatchObject({ mode: 0o4755, uid: 3_000_000, mtime: 1234.5, size: 5 });
        expect(got[1]!.body.toString()).toBe('hello');
        expect(got[2]!.body.toString()).toBe('x'.repeat(1000));
        expect(got[2]!.entry.xattrs.get('user.k')).toEqual(Buffer.from([0, 1, 2]));
        expect(got[2]!.entry.xattrs.get('security.capability')?.toString()).toBe('cap');
        expect(got[2]!.entry.pax.get('SCHILY.xattr.security.capability')?.toString()).toBe('cap');
        expect(got[3]!.entry.linkname).toBe(longLink);
        expect(got[4]!.entry.linkname).toBe('dir/file');
        expect(got[5]!.entry).toMatchObject({ devmajor: 1, devminor: 3, mode: 0o666 });
        expect(got[6]!.entry).toMatchObject({ devmajor: 259, devminor: 70000 });
      }
    }
  });

  it('the same entries always give the same bytes', () => {
    const members = [{ entry: { name: `${'n'.repeat(150)}`, type: 'file' as const, xattrs: { 'user.b': 'b', 'user.a': 'a' } }, body: 'x' }];
    expect(buildTar(members).equals(buildTar(members))).toBe(true);
  });

  it('reads what GNU tar writes (gnu and posix formats, xattrs, hardlinks, devices) and GNU tar reads what it writes', async () => {
    const base = dirs.make();
    const src = join(base, 'src');
    mkdirSync(join(src, 'a'.repeat(90), 'b'.repeat(90)), { recursive: true });
    writeFileSync(join(src, 'a'.repeat(90), 'b'.repeat(90), 'c'.repeat(90)), 'deep');
    writeFileSync(join(src, 'plain'), 'p');
    execFileSync('ln', [join(src, 'plain'), join(src, 'plain-link')]);
    symlinkSync('plain', join(src, 'link'));
    execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']);
    execFileSync('mkfifo', [join(src, 'pipe')]);
    setXattr(join(src, 'plain'), 'user.test', 'val');
    for (const format of ['gnu', 'posix']) {
      const out = join(base, `${format}.tar`);
      execFileSync('tar', ['--format', format, '--xattrs', '--xattrs-include=*', '-C', src, '-cf', out, '.']);
      const got = await readAll(readFileSync(out));
      const byName = new Map(got.map((g) => [g.entry.name, g]));
      expect(byName.get(`./${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(90)}`)?.body.toString()).toBe('deep');
      expect(byName.get('./link')?.entry).toMatchObject({ type: 'symlink', linkname: 'plain' });
      // whichever of the two names tar met first is the file, the other links to it
      const pair = [byName.get('./plain')!.entry, byName.get('./plain-link')!.entry];
      expect(pair.map((e) => e.type).sort()).toEqual(['file', 'hardlink']);
      const hard = pair.find((e) => e.type === 'hardlink')!;
      expect(hard.linkname).toBe(pair.find((e) => e.type === 'file')!.name);
      expect(byName.get('./null')?.entry).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
      expect(byName.get('./pipe')?.entry.type).toBe('fifo');
      if (format === 'posix') {
        const plain = [...byName.values()].find((g) => g.entry.type === 'file' && g.entry.name.startsWith('./plain'));
        expect(plain?.entry.xattrs.get('user.test')?.toString()).toBe('val');
      }
    }
    const ours = join(base, 'ours.tar');
    writeFileSync(
      ours,
      buildTar([
        { entry: { name: `${'x'.repeat(200)}/y`, type: 'file', xattrs: { 'user.k': 'v' } }, body: 'long' },
        { entry: { name: 'l', type: 'symlink', linkname: 'z'.repeat(150) } },
        { entry: { name: 'h', type: 'hardlink', linkname: `${'x'.repeat(200)}/y` } },
        { entry: { name: 'c', type: 'char', devmajor: 1, devminor: 5 } },
        { entry: { name: 'p', type: 'fifo' } },
      ]),
    );
    const listing = execFileSync('tar', ['-tvf', ours]).toString();
    expect(listing).toContain(`${'x'.repeat(200)}/y`);
    expect(listing).toContain(`l -> ${'z'.repeat(150)}`);
    expect(listing).toMatch(/^hrw-r--r-- .* h link to x{200}\/y$/m);
    expect(listing).toMatch(/^crw-r--r-- .* 1,5 .* c$/m);
    expect(listing).toMatch(/^prw-r--r-- .* p$/m);
    const out = join(base, 'out');
    mkdirSync(out);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xf', ours, '-C', out]);
    expect(readFileSync(join(out, 'x'.repeat(200), 'y'), 'utf8')).toBe('long');
    expect(getXattr(join(out, 'x'.repeat(200), 'y'), 'user.k')).toBe('v');
  }, 30_000);

  it('agrees with tar-stream, an independent implementation, both ways', async () => {
    const longName = `${'q'.repeat(130)}/file.txt`;
    const ours = buildTar([
      { entry: { name: 'a/', type: 'dir', mtime: 100 } },
      { entry: { name: longName, type: 'file', uid: 7, gid: 8, mtime: 200 }, body: 'data' },
      { entry: { name: 'ln', type: 'symlink', linkname: 'a' } },
    ]);
    const seen: { name: string; type: string; size: number; uid: number; linkname: string | null; data: string }[] = [];
    const ex = tarStream.extract();
    const done = (async () => {
      for await (const e of ex) {
        const parts: Buffer[] = [];
        for await (const c of e) parts.push(c as Buffer);
        seen.push({ name: e.header.name, type: e.header.type ?? '', size: e.header.size ?? 0, uid: e.header.uid ?? 0, linkname: e.header.linkname ?? null, data: Buffer.concat(parts).toString() });
      }
    })();
    await pipeline(Readable.from([ours]), ex as unknown as NodeJS.WritableStream);
    await done;
    expect(seen).toEqual([
      { name: 'a/', type: 'directory', size: 0, uid: 0, linkname: null, data: '' },
      { name: longName, type: 'file', size: 4, uid: 7, linkname: null, data: 'data' },
      { name: 'ln', type: 'symlink', size: 0, uid: 0, linkname: 'a', data: '' },
    ]);

    const pack = tarStream.pack();
    pack.entry({ name: longName, mtime: new Date(300_000), uid: 9 }, 'packed');
    pack.entry({ name: 'dev', type: 'character-device', devmajor: 4, devminor: 64 });
    pack.entry({ name: 'hl', type: 'link', linkname: longName });
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const got = await readAll(Buffer.concat(chunks));
    expect(got.map((g) => g.entry.name)).toEqual([longName, 'dev', 'hl']);
    expect(got[0]!.entry).toMatchObject({ uid: 9, mtime: 300, size: 6 });
    expect(got[0]!.body.toString()).toBe('packed');
    expect(got[1]!.entry).toMatchObject({ type: 'char', devmajor: 4, devminor: 64 });
    expect(got[2]!.entry).toMatchObject({ type: 'hardlink', linkname: longName });
  });

  it('skips unread and part-read bodies, and sees every byte of the stream (trailing bytes included)', async () => {
    const tar = Buffer.concat([
      buildTar([
        { entry: { name: 'big', type: 'file' }, body: Buffer.alloc(100_000, 7) },
        { entry: { name: 'part', type: 'file' }, body: Buffer.alloc(5000, 8) },
        { entry: { name: 'last', type: 'file' }, body: 'end' },
      ]),
      Buffer.alloc(4096),
    ]);
    const hash = createHash('sha256');
    const reader = new TarReader(streamOf(tar, 1000), { onData: (c) => hash.update(c) });
    expect((await reader.next())?.name).toBe('big');
    expect((await reader.next())?.name).toBe('part');
    for await (const c of reader.body()) {
      expect(c[0]).toBe(8);
      break;
    }
    const last = await reader.next();
    expect(last?.name).toBe('last');
    const parts: Buffer[] = [];
    for await (const c of reader.body()) parts.push(c);
    expect(Buffer.concat(parts).toString()).toBe('end');
    expect(await reader.next()).toBeNull();
    expect(await reader.next()).toBeNull();
    expect(reader.trailingBytes).toBe(4096);
    expect(reader.offset).toBe(tar.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(tar).digest('hex'));
  });

  it('readTar: entries with bodies; stopping early closes the source', async () => {
    const tar = buildTar([
      { entry: { name: 'a', type: 'file' }, body: 'A' },
      { entry: { name: 'b', type: 'file' }, body: 'B' },
    ]);
    const names: string[] = [];
    for await (const { header, body } of readTar([tar])) {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c);
      names.push(`${header.name}=${Buffer.concat(parts).toString()}`);
    }
    expect(names).toEqual(['a=A', 'b=B']);

    const source = closableStream(tar, 512);
    for await (const { header } of readTar(source.stream)) {
      expect(header.name).toBe('a');
      break;
    }
    expect(source.closed()).toBe(true);
  });

  it('a header-only member with a (bogus) size carries no data, as Go and containerd read it', async () => {
    const header = encodeEntryHeader({ name: 'd/', type: 'dir', size: 1024 });
    const tar = Buffer.concat([header, buildTar([{ entry: { name: 'f', type: 'file' }, body: 'x' }])]);
    const got = await readAll(tar);
    expect(got.map((g) => [g.entry.name, g.entry.size])).toEqual([
      ['d/', 0],
      ['f', 1],
    ]);
  });

  it('keeps PAX global headers for every later member', async () => {
    const globalData = Buffer.from('16 uname=global\n');
    const g = encodeEntryHeader({ name: 'pax_global_header', type: 'file', typeflag: 'g', size: globalData.length });
    const tar = Buffer.concat([g, globalData, Buffer.alloc(512 - globalData.length), buildTar([{ entry: { name: 'a', type: 'file' } }, { entry: { name: 'b', type: 'file' } }], { endMarker: false }), endOfArchive()]);
    const got = await readAll(tar);
    expect(got.map((x) => [x.entry.name, x.entry.uname])).toEqual([
      ['a', 'global'],
      ['b', 'global'],
    ]);
  });
});

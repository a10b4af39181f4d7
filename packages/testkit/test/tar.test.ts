import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLayerTar } from '../src/image.js';
import { sortedTarEntries, type LayerEntry } from '../src/layer-entries.js';
import { detectCompression } from '@berth/tar';
import { encodeTar, FIXED_MTIME } from '../src/tar.js';
import { readLayerEntries } from '../src/tar-read.js';
import { tempDirs } from './helpers.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

describe('tar encoder', () => {
  it('writes archives GNU tar reads back: types, modes, owners, links, devices, long names, xattrs', async () => {
    const longName = `deep/${'d'.repeat(120)}/${'f'.repeat(130)}.txt`;
    const entries: LayerEntry[] = [
      { type: 'dir', path: '/deep' },
      { type: 'dir', path: `/deep/${'d'.repeat(120)}` },
      { type: 'file', path: longName, content: 'long\n' },
      { type: 'file', path: '/etc/conf', content: 'a=1\n', mode: 0o640, uid: 1000, gid: 50, xattrs: { 'user.note': 'hi' } },
      { type: 'symlink', path: '/link', target: '../../outside' },
      { type: 'hardlink', path: '/etc/conf-link', target: '/etc/conf' },
      { type: 'char', path: '/dev/null', major: 1, minor: 3 },
      { type: 'block', path: '/dev/loop9', major: 7, minor: 9, mode: 0o660 },
      { type: 'fifo', path: '/run/pipe' },
      { type: 'file', path: '/big-uid', content: '', uid: 3_000_000 },
    ];
    const tar = await buildLayerTar(entries);
    expect(detectCompression(tar)).toBe('none');
    const file = join(await tmp.make('tar'), 'layer.tar');
    writeFileSync(file, tar);
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '--utc', '-tvf', file], { encoding: 'utf8' });
    const lines = listing.trim().split('\n');
    expect(lines).toHaveLength(entries.length);
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0 +0 2020-01-01 00:00:00 deep\/$/);
    expect(lines[2]).toContain(longName);
    expect(lines[3]).toMatch(/^-rw-r----- 1000\/50 +4 .* etc\/conf$/);
    expect(lines[4]).toMatch(/^lrwxrwxrwx .* link -> \.\.\/\.\.\/outside$/);
    expect(lines[5]).toMatch(/^hrw-r--r-- .* etc\/conf-link link to etc\/conf$/);
    expect(lines[6]).toMatch(/^crw-rw-rw- 0\/0 +1,3 .* dev\/null$/);
    expect(lines[7]).toMatch(/^brw-rw---- 0\/0 +7,9 .* dev\/loop9$/);
    expect(lines[8]).toMatch(/^prw-r--r-- .* run\/pipe$/);
    expect(lines[9]).toMatch(/^-rw-r--r-- 3000000\/0 /);

    const read = await readLayerEntries(tar);
    const conf = read.find((e) => e.name === 'etc/conf');
    expect(conf?.pax.get('SCHILY.xattr.user.note')?.toString()).toBe('hi');
    expect(conf?.xattrs.get('user.note')?.toString()).toBe('hi');
    expect(conf?.mtime).toBe(FIXED_MTIME);
    expect(read.find((e) => e.name === longName)?.content.toString()).toBe('long\n');
  });

  it('passes hostile raw entries through untouched and in the order given', async () => {
    const entries: LayerEntry[] = [
      { type: 'raw', entry: { name: '../escape.txt', type: 'file', content: 'out\n' } },
      { type: 'raw', entry: { name: '/etc/absolute', type: 'file', content: 'abs\n' } },
      { type: 'raw', entry: { name: 'a/../../b', type: 'symlink', linkname: '/etc' } },
      { type: 'raw', entry: { name: 'x/.wh...', type: 'file' } },
      { type: 'raw', entry: { name: 'hl', type: 'hardlink', linkname: '../../../etc/shadow' } },
      { type: 'raw', entry: { name: 'zero-mode', type: 'file', mode: 0 } },
      { type: 'raw', entry: { name: 'odd-type', type: 'Z' } },
      { type: 'raw', entry: { name: 'n'.repeat(5000), type: 'file', content: 'x' } },
    ];
    const tar = await buildLayerTar(entries);
    // the ustar name field holds the hostile name byte for byte
    expect(tar.subarray(0, 13).toString()).toBe('../escape.txt');
    expect(tar[13]).toBe(0);
    // a strict reader refuses the bogus type, naming the entry
    await expect(readLayerEntries(tar)).rejects.toThrow(/entry "odd-type" at offset \d+: unsupported tar entry \(type "Z"\)/);
    const read = await readLayerEntries(await buildLayerTar(entries.filter((e) => e.type !== 'raw' || e.entry.name !== 'odd-type')));
    expect(read.map((e) => e.name)).toEqual(['../escape.txt', '/etc/absolute', 'a/../../b', 'x/.wh...', 'hl', 'zero-mode', 'n'.repeat(5000)]);
    expect(read[2]?.linkname).toBe('/etc');
    expect(read[4]).toMatchObject({ type: 'hardlink', linkname: '../../../etc/shadow' });
    expect(read[5]?.mode).toBe(0);
    // the typeflag byte of the 7th entry is 'Z'
    const headerOffsets: number[] = [];
    for (let off = 0; off + 512 <= tar.length; off += 512) {
      if (tar.subarray(off, off + 9).toString() === 'odd-type\0') headerOffsets.push(off);
    }
    expect(headerOffsets).toHaveLength(1);
    expect(String.fromCharCode(tar[(headerOffsets[0] ?? 0) + 156] ?? 0)).toBe('Z');
  });

  it('can lie about sizes, producing a truncated archive on purpose', () => {
    const tar = encodeTar([{ name: 'short', type: 'file', content: 'abc', size: 4096 }]);
    expect(tar.subarray(124, 135).toString()).toBe((4096).toString(8).padStart(11, '0'));
    expect(tar.length).toBe(512 + 512 + 1024);
  });

  it('compresses with gzip and zstd', async () => {
    const entries: LayerEntry[] = [{ type: 'file', path: '/a', content: 'a'.repeat(10000) }];
    const gz = await buildLayerTar(entries, { compression: 'gzip' });
    const zst = await buildLayerTar(entries, { compression: 'zstd' });
    expect(detectCompression(gz)).toBe('gzip');
    expect(detectCompression(zst)).toBe('zstd');
    expect((await readLayerEntries(gz))[0]?.content.length).toBe(10000);
    expect((await readLayerEntries(zst))[0]?.content.length).toBe(10000);
    expect(await buildLayerTar(entries, { compression: 'zstd' })).toEqual(zst);
  });

  it('sorts entries by path with parents first and hardlinks after their targets', () => {
    const sorted = sortedTarEntries([
      { type: 'file', path: '/b/z.txt' },
      { type: 'hardlink', path: '/a-link', target: '/b/z.txt' },
      { type: 'dir', path: '/b' },
      { type: 'whiteout', path: '/b/gone' },
      { type: 'opaque', path: '/c' },
      { type: 'dir', path: '/c' },
    ]);
    expect(sorted.map((e) => e.name)).toEqual(['b/', 'b/.wh.gone', 'b/z.txt', 'a-link', 'c/', 'c/.wh..wh..opq']);
  });

  it('refuses friendly paths that leave the root', async () => {
    await expect(buildLayerTar([{ type: 'file', path: '../x' }])).rejects.toThrow(/contains '\.\.'/);
  });
});

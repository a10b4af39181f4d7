import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, unpackImage } from '../src/apply/apply-layer.js';
import { benchmarkUnpack } from '../src/bench.js';
import { chainIdOf, chainIds } from '../src/chain-id.js';
import { FsHelper } from '../src/fsops/helper.js';
import { compactOverlayOptions } from '@berth/mount';
import type { Snapshotter } from '../src/snapshotter.js';
import {
  TempRoots,
  describeTree,
  dir,
  file,
  hardlink,
  makeLayer,
  opaque,
  openSnapshotter,
  requireBinaries,
  streamOf,
  symlink,
  whiteout,
  withMounted,
  type Layer,
  type Member,
  type TreeEntry,
} from './helpers.js';

const roots = new TempRoots();
beforeAll(() => requireBinaries('mount', 'umount', 'cp', 'perl', 'sync', 'zstd'));
afterEach(() => roots.cleanup());

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep

const everyType: Member[] = [
  dir('bin', { mode: 0o755 }),
  file('bin/ping', 'ELF…', { mode: 0o4755, uid: 0, gid: 0, xattrs: { 'security.capability': CAP } }),
  file('bin/tool', 'tool', { mode: 0o2750, uid: 1000, gid: 50, mtime: 1_500_000_000 }),
  hardlink('bin/tool-again', 'bin/tool'),
  symlink('bin/sh', 'busybox', { uid: 7, gid: 8 }),
  symlink('abs-link', '/etc/passwd'),
  dir('dev', { mode: 0o755 }),
  { entry: { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: 1_600_000_000 } },
  { entry: { name: 'dev/loop0', type: 'block', devmajor: 7, devminor: 0, mode: 0o660, gid: 6, mtime: 1_600_000_000 } },
  { entry: { name: 'run/initctl', type: 'fifo', mode: 0o600, mtime: 1_600_000_000 } },
  dir('tmp', { mode: 0o1777, mtime: 1_400_000_000 }),
  dir('data', { uid: 33, gid: 33, mode: 0o700, xattrs: { 'user.origin': 'test' } }),
  file('data/big', Buffer.alloc(3 * 1024 * 1024 + 17, 0xab)),
  file(`data/${'n'.repeat(250)}`, 'long name'),
  file('data/empty', ''),
];

function expectEveryType(t: Awaited<ReturnType<typeof describeTree>>): void {
  expect(t['bin/ping']).toMatchObject({ type: 'file', mode: 0o4755, xattrs: { 'security.capability': CAP.toString('hex') } });
  expect(t['bin/tool']).toMatchObject({ type: 'file', mode: 0o2750, uid: 1000, gid: 50, mtime: 1_500_000_000 });
  expect(t['bin/sh']).toMatchObject({ type: 'symlink', link: 'busybox', uid: 7, gid: 8 });
  expect(t['abs-link']).toMatchObject({ type: 'symlink', link: '/etc/passwd' });
  expect(t['dev/null']).toMatchObject({ type: 'char', mode: 0o666, rdev: 0x103 });
  expect(t['dev/loop0']).toMatchObject({ type: 'block', mode: 0o660, gid: 6, rdev: 0x700 });
  expect(t['run/initctl']).toMatchObject({ type: 'fifo', mode: 0o600 });
  expect(t['run']).toMatchObject({ type: 'dir', mode: 0o755, uid: 0 }); // implicit parent
  expect(t['tmp']).toMatchObject({ type: 'dir', mode: 0o1777 });
  expect(t['data']).toMatchObject({ type: 'dir', mode: 0o700, uid: 33, gid: 33, xattrs: { 'user.origin': Buffer.from('test').toString('hex') } });
  expect(t['data/big']).toMatchObject({ size: 3 * 1024 * 1024 + 17 });
  expect(t[`data/${'n'.repeat(250)}`]).toMatchObject({ size: 9 });
  expect(t['data/empty']).toMatchObject({ size: 0 });
}

async function apply(sn: Snapshotter, layer: Layer, parent?: string, extra: { compressed?: Buffer; mediaType?: string } = {}) {
  return applyLayer(sn, {
    ...(parent ? { parent } : {}),
    stream: streamOf(extra.compressed ?? layer.gz),
    expectedDiffId: layer.diffId,
    ...(extra.mediaType ? { mediaType: extra.mediaType } : {}),
  });
}

describe('layer apply (overlayfs)', () => {
  it('applies every entry type with modes, owners, times and xattrs, seen through the mount', async () => {
    const { sn } = await openSnapshotter(roots);
    const layer = makeLayer(everyType);
    const res = await apply(sn, layer);
    expect(res.applied).toBe(true);
    expect(res.chainId).toBe(layer.diffId);
    expect(res.stats).toMatchObject({ files: 5, hardlinks: 1, symlinks: 2, specials: 3, compression: 'gzip' });
    expect(res.stats!.tarBytes).toBe(layer.tar.length);
    expect(res.stats!.compressedBytes).toBe(layer.gz.length);
    const mounts = await sn.view('v', res.chainId);
    await withMounted(roots, mounts, async (root) => {
      expectEveryType(await describeTree(root));
      const a = lstatSync(join(root, 'bin/tool'));
      const b = lstatSync(join(root, 'bin/tool-again'));
      expect(b.ino).toBe(a.ino);
      expect(a.nlink).toBe(2);
      // a dir's mtime is the layer's, set after its content was written
      expect(Math.floor(lstatSync(join(root, 'tmp')).mtimeMs / 1000)).toBe(1_400_000_000);
    });
    const info = await sn.stat(res.chainId);
    expect(info.kind).toBe('committed');
    expect(info.labels).toEqual({});
    expect((await sn.list()).filter((s) => s.key.startsWith('extract-'))).toEqual([]);
    sn.close();
  });

  it('turns whiteouts and opaque dirs into overlay whiteouts, verified through the mounted overlay', async () => {
    const { sn, root } = await openSnapshotter(roots);
    const base = makeLayer([
      dir('etc'),
      file('etc/deleted', 'gone soon'),
      file('etc/kept', 'stays'),
      dir('etc/subdir'),
      file('etc/subdir/deep', 'gone with its dir'),
      dir('opt', { mode: 0o751 }),
      file('opt/old1', '1'),
      dir('opt/olddir'),
      file('opt/olddir/x', 'x'),
      dir('usr', { mode: 0o750, uid: 5, gid: 6, mtime: 1_234_567_890 }),
      file('usr/lower-only', 'lower', { mode: 0o640 }),
      dir('samelayer'),
      file('samelayer/old', 'old'),
      dir('redo'),
      file('redo/lower', 'lower'),
    ]);
    const top = makeLayer([
      whiteout('etc/deleted'),
      whiteout('etc/subdir'),
      whiteout('etc/never-existed'),
      dir('opt', { mode: 0o755 }),
      opaque('opt'),
      file('opt/new', 'new'),
      file('usr/added', 'no usr/ entry in this layer'),
      hardlink('usr/linked', 'usr/lower-only'),
      // same layer: a file written and "whited out" stays (whiteouts hide lower layers only)
      file('samelayer/fresh', 'fresh'),
      whiteout('samelayer/fresh'),
      // whiteout, then a new directory of the same name: only the new content
      whiteout('redo'),
      dir('redo'),
      file('redo/new', 'new'),
    ]);
    const r1 = await apply(sn, base);
    const r2 = await apply(sn, top, r1.chainId);
    expect(r2.chainId).toBe(chainIdOf(base.diffId, top.diffId));
    expect(r2.stats).toMatchObject({ whiteouts: 5, opaqueDirs: 1 });
    await withMounted(roots, await sn.view('v', r2.chainId), async (m) => {
      expect(readdirSync(join(m, 'etc')).sort()).toEqual(['kept']);
      expect(readdirSync(join(m, 'opt')).sort()).toEqual(['new']);
      expect(lstatSync(join(m, 'opt')).mode & 0o7777).toBe(0o755);
      expect(readdirSync(join(m, 'usr')).sort()).toEqual(['added', 'linked', 'lower-only']);
      const usr = lstatSync(join(m, 'usr'));
      expect([usr.mode & 0o7777, usr.uid, usr.gid, Math.floor(usr.mtimeMs / 1000)]).toEqual([0o750, 5, 6, 1_234_567_890]);
      expect(readFileSync(join(m, 'usr/linked'), 'utf8')).toBe('lower');
      expect(lstatSync(join(m, 'usr/linked')).ino).toBe(lstatSync(join(m, 'usr/lower-only')).ino);
      expect(readdirSync(join(m, 'samelayer')).sort()).toEqual(['fresh', 'old']);
      expect(readdirSync(join(m, 'redo'))).toEqual(['new']);
    });
    // on disk: a 0:0 char device and the opaque xattr in the upper dir
    const upper = join(root, 'snapshots', String((await sn.stat(r2.chainId)).id), 'fs');
    const wh = lstatSync(join(upper, 'etc/deleted'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(() => lstatSync(join(upper, 'etc/never-existed'))).toThrow(/ENOENT/);
    const helper = new FsHelper();
    expect((await helper.getXattr(join(upper, 'opt'), 'trusted.overlay.opaque'))?.toString()).toBe('y');
    expect((await helper.getXattr(join(upper, 'redo'), 'trusted.overlay.opaque'))?.toString()).toBe('y');
    await helper.close();
    sn.close();
  });

  it('an opaque marker at the layer root hides every lower entry', async () => {
    const { sn } = await openSnapshotter(roots);
    const r1 = await apply(sn, makeLayer([dir('a'), file('a/x', 'x'), file('b', 'b')]));
    const r2 = await apply(sn, makeLayer([file('.wh..wh..opq', ''), file('c', 'c')]), r1.chainId);
    await withMounted(roots, await sn.view('v', r2.chainId), (m) => expect(readdirSync(m).sort()).toEqual(['c']));
    sn.close();
  });

  it('reads zstd and plain tar, and refuses a blob whose bytes contradict its media type', async () => {
    const { sn } = await openSnapshotter(roots);
    const layer = makeLayer([file('z', 'zstd content')]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: layer.tar });
    const z = await apply(sn, layer, undefined, { compressed: zst, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' });
    expect(z.stats?.compression).toBe('zstd');
    const plain = makeLayer([file('p', 'plain')]);
    const p = await apply(sn, plain, undefined, { compressed: plain.tar, mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    expect(p.stats?.compression).toBe('none');
    const fromFile = makeLayer([file('from-file', 'blob on disk')]);
    const blobPath = join(roots.make(), 'blob');
    writeFileSync(blobPath, fromFile.gz);
    const f = await applyLayer(sn, { blobPath, expectedDiffId: fromFile.diffId, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' });
    expect(f).toMatchObject({ chainId: fromFile.diffId, applied: true });
    const other = makeLayer([file('q', 'q')]);
    await expect(
      apply(sn, other, undefined, { compressed: other.tar, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }),
    ).rejects.toThrow(/declared as gzip .* does not start with gzip magic bytes/);
    sn.close();
  });

  it('discards the snapshot when the content does not match the diff_id', async () => {
    const { sn, root } = await openSnapshotter(roots);
    const layer = makeLayer([file('f', 'content')]);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const err = await applyLayer(sn, { stream: streamOf(layer.gz), expectedDiffId: wrong }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`layer content does not match its diff_id: expected ${wrong}, got ${layer.diffId}`);
    expect((err as { code: string }).code).toBe('data_loss');
    expect(await sn.list()).toEqual([]);
    expect(readdirSync(join(root, 'snapshots'))).toEqual([]);
    sn.close();
  });

  it('is a no-op for a chain id already committed, and concurrent applies produce it once', async () => {
    const { sn, root } = await openSnapshotter(roots);
    const layer = makeLayer([dir('d'), file('d/f', 'x'.repeat(100_000))]);
    const results = await Promise.all([apply(sn, layer), apply(sn, layer), apply(sn, layer)]);
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(new Set(results.map((r) => r.chainId))).toEqual(new Set([layer.diffId]));
    expect((await sn.list()).map((s) => s.key)).toEqual([layer.diffId]);
    expect(readdirSync(join(root, 'snapshots'))).toHaveLength(1);
    // already there: the stream is not even read
    let pulled = false;
    const untouched = (async function* () {
      pulled = true;
      yield layer.gz;
    })();
    const again = await applyLayer(sn, { stream: untouched, expectedDiffId: layer.diffId });
    expect(again).toEqual({ chainId: layer.diffId, applied: false });
    expect(pulled).toBe(false);
    sn.close();
  });

  it('two snapshotter processes on one root: the commit loser reuses the winner’s snapshot', async () => {
    const { sn, root } = await openSnapshotter(roots);
    const layer = makeLayer([file('f', 'f')]);
    // another process committed the chain id while this one was extracting
    const slow = (async function* () {
      yield layer.gz.subarray(0, 10);
      await sn.prepare('other', undefined);
      await sn.commit(layer.diffId, 'other');
      yield layer.gz.subarray(10);
    })();
    const res = await applyLayer(sn, { stream: slow, expectedDiffId: layer.diffId });
    expect(res).toEqual({ chainId: layer.diffId, applied: false });
    expect((await sn.list()).map((s) => s.key)).toEqual([layer.diffId]);
    expect(readdirSync(join(root, 'snapshots'))).toHaveLength(1);
    sn.close();
  });

  it('unpacks an image layer by layer and a 120-layer chain mounts', async () => {
    const { sn } = await openSnapshotter(roots);
    const layers: Layer[] = [];
    for (let i = 0; i < 120; i++) layers.push(makeLayer([file(`layer-${i}`, String(i)), file('counter', String(i))]));
    const res = await unpackImage(
      sn,
      layers.map((l) => ({ open: () => streamOf(l.gz), diffId: l.diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
    );
    expect(res.chainIds).toEqual(chainIds(layers.map((l) => l.diffId)));
    const top = res.chainIds[119]!;
    const mounts = await sn.prepare('container', top);
    const opts = mounts[0]!.options;
    expect(opts.join(',').length).toBeGreaterThan(4095); // absolute form: too long for one page…
    expect(compactOverlayOptions(opts).options.join(',').length).toBeLessThan(4095); // …relative form fits
    await withMounted(roots, mounts, (m) => {
      expect(readdirSync(m).filter((n) => n.startsWith('layer-'))).toHaveLength(120);
      expect(readFileSync(join(m, 'counter'), 'utf8')).toBe('119');
      expect(readFileSync(join(m, 'layer-0'), 'utf8')).toBe('0');
      writeFileSync(join(m, 'written'), 'by the container');
    });
    const again = await unpackImage(sn, layers.map((l) => ({ open: () => { throw new Error('must not be opened'); }, diffId: l.diffId })));
    expect(again.layers.every((l) => !l.applied)).toBe(true);
    sn.close();
  }, 120_000);

  it('benchmarkUnpack reports throughput', async () => {
    const { sn } = await openSnapshotter(roots);
    const members: Member[] = [dir('d')];
    for (let i = 0; i < 500; i++) members.push(file(`d/f${i}`, Buffer.alloc(2048, i)));
    const layer = makeLayer(members);
    const bench = await benchmarkUnpack(sn, [{ open: () => streamOf(layer.gz), diffId: layer.diffId }], { removeAfter: true });
    expect(bench.entries).toBe(501);
    expect(bench.tarBytes).toBe(layer.tar.length);
    expect(bench.entriesPerSecond).toBeGreaterThan(0);
    expect(bench.mbPerSecond).toBeGreaterThan(0);
    expect(await sn.list()).toEqual([]);
    sn.close();
  });
});

describe('layer apply into a fresh snapshot (no existence checks where nothing can exist yet)', () => {
  // Every path is named twice or more in one layer: a later entry must still find, replace or reuse what an earlier one made.
  const renamed: Member[] = [
    file('dup', 'first'),
    file('dup', 'second'),
    dir('was-dir'),
    file('was-dir/inner', 'x'),
    file('was-dir', 'now a file'),
    file('was-file', 'x'),
    dir('was-file'),
    file('was-file/inner', 'y'),
    symlink('was-link', 'somewhere'),
    file('was-link', 'replaced'),
    dir('kept', { mode: 0o700 }),
    file('kept/a', 'a'),
    dir('kept', { mode: 0o755, uid: 3, gid: 4 }),
    dir('h'),
    file('h/target', 'linked'),
    hardlink('h/link', 'h/target'),
    file('s/f', 'same layer'),
    whiteout('s/f'),
    { entry: { name: 'node', type: 'fifo', mode: 0o600 } },
    file('node', 'a file now'),
  ];

  it('an entry naming a path this layer already wrote replaces it, or reuses a directory (overlay and native alike)', async () => {
    const layer = makeLayer(renamed);
    const trees: Record<string, TreeEntry>[] = [];
    for (const driver of ['overlayfs', 'native'] as const) {
      const { sn } = await openSnapshotter(roots, driver);
      const res = await apply(sn, layer);
      trees.push(
        await withMounted(roots, await sn.view('v', res.chainId), (m) => {
          expect(readFileSync(join(m, 'dup'), 'utf8')).toBe('second');
          expect(readFileSync(join(m, 'was-dir'), 'utf8')).toBe('now a file');
          expect(readdirSync(join(m, 'was-file'))).toEqual(['inner']);
          expect(lstatSync(join(m, 'was-link')).isFile()).toBe(true);
          expect(readFileSync(join(m, 'node'), 'utf8')).toBe('a file now');
          expect(lstatSync(join(m, 'h/link')).ino).toBe(lstatSync(join(m, 'h/target')).ino);
          expect(readFileSync(join(m, 's/f'), 'utf8')).toBe('same layer');
          return describeTree(m);
        }),
      );
      sn.close();
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[0]!['kept']).toMatchObject({ type: 'dir', mode: 0o755, uid: 3, gid: 4 });
    expect(trees[0]!['kept/a']).toMatchObject({ type: 'file' });
    expect(Object.keys(trees[0]!).filter((k) => k.startsWith('was-dir/'))).toEqual([]);
  });

  it('owners are the entries’ own, also root:root inside a setgid directory, whose group new entries would otherwise take', async () => {
    const { sn } = await openSnapshotter(roots);
    const layer = makeLayer([
      dir('shared', { mode: 0o2775, uid: 0, gid: 50 }),
      file('shared/root-file', 'x', { uid: 0, gid: 0 }),
      dir('shared/sub', { mode: 0o755, uid: 0, gid: 0 }),
      file('shared/sub/deep', 'x', { uid: 0, gid: 0 }),
      symlink('shared/link', 'root-file', { uid: 0, gid: 0 }),
      { entry: { name: 'shared/fifo', type: 'fifo', mode: 0o644, uid: 0, gid: 0 } },
      file('shared/implicit/f', 'parent made for it', { uid: 0, gid: 0 }),
      file('shared/group-file', 'x', { uid: 0, gid: 50 }),
      file('plain/f', 'x', { uid: 0, gid: 0 }),
      file('user-file', 'x', { uid: 1000, gid: 1001, mode: 0o4755 }),
      symlink('user-link', 'user-file', { uid: 1000, gid: 1001 }),
      dir('user-dir', { uid: 1000, gid: 1001, mode: 0o750 }),
    ]);
    const res = await apply(sn, layer);
    await withMounted(roots, await sn.view('v', res.chainId), async (m) => {
      const t = await describeTree(m);
      const owner = (k: string) => [t[k]?.uid, t[k]?.gid];
      expect(t['shared']).toMatchObject({ mode: 0o2775, uid: 0, gid: 50 });
      for (const k of ['shared/root-file', 'shared/sub', 'shared/sub/deep', 'shared/link', 'shared/fifo', 'shared/implicit/f', 'plain/f']) {
        expect([k, ...owner(k)]).toEqual([k, 0, 0]);
      }
      expect(t['shared/sub']).toMatchObject({ mode: 0o755 }); // not the setgid bit mkdir gave it
      expect(owner('shared/group-file')).toEqual([0, 50]);
      expect(t['user-file']).toMatchObject({ uid: 1000, gid: 1001, mode: 0o4755 });
      expect(owner('user-link')).toEqual([1000, 1001]);
      expect(t['user-dir']).toMatchObject({ uid: 1000, gid: 1001, mode: 0o750 });
    });
    sn.close();
  });

  it('a layer applied over a parent (native: a copy of it, not empty) still finds and replaces what is there', async () => {
    const { sn } = await openSnapshotter(roots, 'native');
    const base = await apply(sn, makeLayer([dir('etc'), file('etc/passwd', 'old'), symlink('etc/link', 'passwd'), dir('var', { mode: 0o700 })]));
    const top = await apply(sn, makeLayer([file('etc/passwd', 'new'), file('etc/link', 'a file'), dir('var', { mode: 0o755 }), file('var/log', 'x')]), base.chainId);
    await withMounted(roots, await sn.view('v', top.chainId), (m) => {
      expect(readFileSync(join(m, 'etc/passwd'), 'utf8')).toBe('new');
      expect(lstatSync(join(m, 'etc/link')).isFile()).toBe(true);
      expect(lstatSync(join(m, 'var')).mode & 0o7777).toBe(0o755);
      expect(readdirSync(join(m, 'var'))).toEqual(['log']);
    });
    sn.close();
  });
});

describe('layer apply (native) matches overlay', () => {
  it('produces the same tree as the overlay mount for every type, whiteouts and opaque dirs', async () => {
    const layers = [
      makeLayer([...everyType, dir('etc'), file('etc/a', 'a'), file('etc/b', 'b'), dir('opt'), file('opt/x', 'x'), dir('opt/y'), file('opt/y/z', 'z')]),
      makeLayer([whiteout('etc/a'), dir('opt'), opaque('opt'), file('opt/new', 'n'), whiteout('bin/sh'), file('bin/sh', 'replaced')]),
      makeLayer([whiteout('opt'), file('data/big', 'shrunk'), hardlink('data/again', 'data/big')]),
    ];
    const trees: Record<string, unknown>[] = [];
    for (const driver of ['overlayfs', 'native'] as const) {
      const { sn } = await openSnapshotter(roots, driver);
      const { chainIds: ids } = await unpackImage(sn, layers.map((l) => ({ open: () => streamOf(l.gz), diffId: l.diffId })));
      trees.push(await withMounted(roots, await sn.view('v', ids[2]!), (m) => describeTree(m)));
      sn.close();
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(Object.keys(trees[0]!)).not.toContain('opt');
    expect(Object.keys(trees[0]!)).toContain('etc/b');
    expect(Object.keys(trees[0]!)).not.toContain('etc/a');
  });
});

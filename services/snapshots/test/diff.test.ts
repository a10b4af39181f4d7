import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../src/apply/apply-layer.js';
import { diffSnapshot } from '../src/diff.js';
import { FsHelper } from '../src/fsops/helper.js';
import type { Snapshotter } from '../src/snapshotter.js';
import { TarReader } from '@berth/tar';
import { TempRoots, describeTree, dir, file, hardlink, makeLayer, openSnapshotter, requireBinaries, streamOf, symlink, withMounted } from './helpers.js';

const roots = new TempRoots();
beforeAll(() => requireBinaries('mount', 'umount', 'cp', 'perl', 'sync', 'mknod'));
afterEach(() => roots.cleanup());

const baseLayer = makeLayer([
  dir('etc'),
  file('etc/keep', 'keep'),
  file('etc/modify', 'before'),
  file('etc/delete-me', 'bye'),
  file('etc/chmod-me', 'mode', { mode: 0o600 }),
  dir('var'),
  dir('var/lib'),
  file('var/lib/state', 'lower state'),
  dir('replace'),
  file('replace/old-a', 'a'),
  dir('replace/old-sub'),
  file('replace/old-sub/x', 'x'),
  dir('gone'),
  file('gone/inner', 'i'),
  symlink('link', 'etc/keep'),
  file('hl-a', 'shared'),
  hardlink('hl-b', 'hl-a'),
]);

/** A container's worth of changes, made through the mounted snapshot. */
async function change(root: string): Promise<void> {
  writeFileSync(join(root, 'etc/modify'), 'after, and longer');
  unlinkSync(join(root, 'etc/delete-me'));
  chmodSync(join(root, 'etc/chmod-me'), 0o4711);
  chownSync(join(root, 'etc/keep'), 1234, 5678);
  rmSync(join(root, 'gone'), { recursive: true });
  rmSync(join(root, 'replace'), { recursive: true });
  mkdirSync(join(root, 'replace')); // over a removed lower dir: overlay makes it opaque
  writeFileSync(join(root, 'replace/new'), 'new');
  mkdirSync(join(root, 'new-dir/deeper'), { recursive: true });
  writeFileSync(join(root, 'new-dir/deeper/file'), Buffer.alloc(200_000, 7));
  symlinkSync('/absolute/target', join(root, 'new-dir/abs'));
  linkSync(join(root, 'new-dir/deeper/file'), join(root, 'new-dir/hard'));
  execFileSync('mknod', ['-m', '0620', join(root, 'new-dir/tty9'), 'c', '4', '9']);
  execFileSync('mknod', ['-m', '0600', join(root, 'new-dir/fifo'), 'p']);
  renameSync(join(root, 'var/lib/state'), join(root, 'var/lib/state.moved'));
  writeFileSync(join(root, `new-dir/${'long'.repeat(60)}`), 'long name');
  const helper = new FsHelper();
  await helper.setXattr(join(root, 'new-dir/deeper/file'), 'user.note', Buffer.from('xattr survives'));
  await helper.setXattr(join(root, 'etc/modify'), 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  await helper.close();
}

async function roundTrip(sn: Snapshotter): Promise<void> {
  const base = await applyLayer(sn, { stream: streamOf(baseLayer.gz), expectedDiffId: baseLayer.diffId });
  const mounts = await sn.prepare('container', base.chainId);
  const expected = await withMounted(roots, mounts, async (m) => {
    await change(m);
    return describeTree(m);
  });
  const out = join(roots.make(), 'layer.tar.gz');
  const diff = await diffSnapshot(sn, 'container', { outputPath: out });
  const blob = readFileSync(out);
  expect(diff.path).toBe(out);
  expect(diff.size).toBe(blob.length);
  expect(diff.digest).toBe(`sha256:${createHash('sha256').update(blob).digest('hex')}`);
  expect(diff.diffId).toBe(`sha256:${createHash('sha256').update(gunzipSync(blob)).digest('hex')}`);
  expect(diff.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');

  // what the layer says, by name
  const reader = new TarReader(streamOf(gunzipSync(blob)));
  const names: string[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) names.push(e.name);
  expect(names).toContain('etc/.wh.delete-me');
  expect(names).toContain('.wh.gone');
  expect(names).toContain('var/lib/.wh.state');
  expect(names).not.toContain('etc/keep/'); // unchanged content is not repeated…
  expect(names).toContain('etc/keep'); // …but an owner change is

  // apply(diff(x)) on x's parent reproduces x
  const again = await applyLayer(sn, { parent: base.chainId, stream: streamOf(blob), expectedDiffId: diff.diffId });
  const actual = await withMounted(roots, await sn.view('check', again.chainId), (m) => describeTree(m));
  expect(actual).toEqual(expected);
  expect(actual['replace']).toBeDefined();
  expect(Object.keys(actual).filter((k) => k.startsWith('replace/'))).toEqual(['replace/new']);
  expect(actual['new-dir/tty9']).toMatchObject({ type: 'char', rdev: (4 << 8) | 9, mode: 0o620 });
  expect(actual['etc/chmod-me']).toMatchObject({ mode: 0o4711 });
}

describe('diff', () => {
  it('overlayfs: the upper dir becomes a layer (whiteouts, opaque dirs, xattrs) and apply(diff(x)) reproduces x', async () => {
    const { sn } = await openSnapshotter(roots);
    await roundTrip(sn);
    const names = await layerNames(sn, 'container');
    expect(names).toContain('replace/.wh..wh..opq');
    sn.close();
  });

  it('native: comparing trees gives a layer that reproduces x too', async () => {
    const { sn } = await openSnapshotter(roots, 'native');
    await roundTrip(sn);
    sn.close();
  });

  it('a committed layer diffs back to the same content, in memory and uncompressed on request', async () => {
    for (const driver of ['overlayfs', 'native'] as const) {
      const { sn } = await openSnapshotter(roots, driver);
      const base = await applyLayer(sn, { stream: streamOf(baseLayer.gz), expectedDiffId: baseLayer.diffId });
      const top = makeLayer([file('etc/modify', 'layer two'), file('etc/.wh.keep', ''), dir('extra', { mode: 0o700 }), file('extra/f', 'f')]);
      const applied = await applyLayer(sn, { parent: base.chainId, stream: streamOf(top.gz), expectedDiffId: top.diffId });
      const diff = await diffSnapshot(sn, applied.chainId, { compression: 'none' });
      expect(diff.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
      expect(diff.digest).toBe(diff.diffId);
      const other = await openSnapshotter(roots, driver);
      const b2 = await applyLayer(other.sn, { stream: streamOf(baseLayer.gz), expectedDiffId: baseLayer.diffId });
      const t2 = await applyLayer(other.sn, { parent: b2.chainId, stream: streamOf(diff.data!), expectedDiffId: diff.diffId });
      const want = await withMounted(roots, await sn.view('v', applied.chainId), (m) => describeTree(m));
      const got = await withMounted(roots, await other.sn.view('v', t2.chainId), (m) => describeTree(m));
      expect(got).toEqual(want);
      expect(Object.keys(got)).not.toContain('etc/keep');
      await expect(diffSnapshot(sn, 'v')).rejects.toThrow(/is a view; only active and committed snapshots have changes/);
      sn.close();
      other.sn.close();
    }
  });
});

async function layerNames(sn: Snapshotter, key: string): Promise<string[]> {
  const d = await diffSnapshot(sn, key, { compression: 'none' });
  const reader = new TarReader(streamOf(d.data!));
  const names: string[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) names.push(e.name);
  return names;
}

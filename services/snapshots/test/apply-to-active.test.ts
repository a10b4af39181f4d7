import { lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../src/apply/apply-layer.js';
import { applyToActive } from '../src/apply/apply-to-active.js';
import { diffSnapshot } from '../src/diff.js';
import { SnapshotError } from '../src/errors.js';
import { FsHelper } from '../src/fsops/helper.js';
import { mountAll, unmount } from '@berth/mount';
import { TempRoots, describeTree, dir, file, makeLayer, openSnapshotter, requireBinaries, streamOf, symlink, withMounted } from './helpers.js';

const roots = new TempRoots();
beforeAll(() => requireBinaries('mount', 'umount', 'cp', 'perl', 'sync'));
afterEach(() => roots.cleanup());

const base = makeLayer([dir('etc'), file('etc/os', 'base\n'), file('etc/gone', 'deleted above\n')]);
const middle = makeLayer([dir('etc'), file('etc/.wh.gone', ''), file('etc/middle', 'middle\n')]);
const good = makeLayer([dir('etc'), file('etc/added', 'added\n')]);
const hostile = makeLayer([dir('etc'), file('etc/partial', 'written before the refusal'), symlink('etc/out', '/tmp'), file('etc/out/evil', 'x')]);

for (const driver of ['overlayfs', 'native'] as const) {
  describe(`applyToActive (${driver})`, () => {
    it('applies into a prepared snapshot; a refused layer leaves it as prepared', async () => {
      const { sn } = await openSnapshotter(roots, driver);
      const b = await applyLayer(sn, { stream: streamOf(base.gz), expectedDiffId: base.diffId });
      await sn.prepare('target', b.chainId);
      const prepared = await withMounted(roots, await sn.mounts('target'), (m) => describeTree(m));

      const err = await applyToActive(sn, 'target', { stream: streamOf(hostile.gz), expectedDiffId: hostile.diffId }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).code).toBe('invalid_argument');
      expect(await withMounted(roots, await sn.mounts('target'), (m) => describeTree(m))).toEqual(prepared);

      const mismatch = await applyToActive(sn, 'target', { stream: streamOf(good.gz), expectedDiffId: base.diffId }).catch((e: unknown) => e);
      expect((mismatch as SnapshotError).code).toBe('data_loss');
      expect(await withMounted(roots, await sn.mounts('target'), (m) => describeTree(m))).toEqual(prepared);

      const ok = await applyToActive(sn, 'target', { stream: streamOf(good.gz), expectedDiffId: good.diffId });
      expect(ok.diffId).toBe(good.diffId);
      await sn.commit('done', 'target');
      await withMounted(roots, await sn.view('v', 'done'), (m) => {
        expect(readFileSync(join(m, 'etc/added'), 'utf8')).toBe('added\n');
        expect(readFileSync(join(m, 'etc/os'), 'utf8')).toBe('base\n');
      });
      sn.close();
    });

    it('diffs against any snapshot, not only the parent: applied on that one it gives the same tree', async () => {
      const { sn } = await openSnapshotter(roots, driver);
      const b = await applyLayer(sn, { stream: streamOf(base.gz), expectedDiffId: base.diffId });
      const m = await applyLayer(sn, { parent: b.chainId, stream: streamOf(middle.gz), expectedDiffId: middle.diffId });
      await sn.prepare('work', m.chainId);
      const want = await withMounted(roots, await sn.mounts('work'), (root) => {
        writeFileSync(join(root, 'etc/os'), 'changed\n');
        return describeTree(root);
      });
      const diff = await diffSnapshot(sn, 'work', { parent: b.chainId, compression: 'none' });
      await sn.prepare('replay', b.chainId);
      await applyToActive(sn, 'replay', { stream: streamOf(diff.data!), expectedDiffId: diff.diffId });
      expect(await withMounted(roots, await sn.mounts('replay'), (root) => describeTree(root))).toEqual(want);
      expect(await withMounted(roots, await sn.mounts('replay'), (root) => readFileSync(join(root, 'etc/middle'), 'utf8'))).toBe('middle\n');
      sn.close();
    });
  });
}

describe('applyToActive safeguards (overlayfs)', () => {
  it('refuses commit and remove while a layer is being applied, and a second apply', async () => {
    const { sn } = await openSnapshotter(roots);
    await sn.prepare('busy');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<Buffer> {
      yield good.gz.subarray(0, 10);
      await gate;
      yield good.gz.subarray(10);
    }
    const running = applyToActive(sn, 'busy', { stream: slow(), expectedDiffId: good.diffId });
    await expect(sn.commit('c', 'busy')).rejects.toThrow(/snapshot "busy" cannot be committed now: a layer is being applied to it/);
    await expect(sn.remove('busy')).rejects.toThrow(/cannot be removed now: a layer is being applied to it/);
    await expect(applyToActive(sn, 'busy', { stream: streamOf(good.gz), expectedDiffId: good.diffId })).rejects.toThrow(/cannot be reserved now/);
    release();
    await running;
    await sn.commit('c', 'busy');
    sn.close();
  });

  it('a refused layer that changed the root dir leaves its attributes and a bind mount of it intact', async () => {
    const { sn } = await openSnapshotter(roots);
    const mounts = await sn.prepare('rooted'); // no parent: a bind mount, which may stay mounted during an apply
    const target = roots.make('berth-mnt-');
    await mountAll(mounts, target);
    try {
      const helper = new FsHelper();
      const before = { st: lstatSync(target), xattrs: await helper.listXattrs(target) };
      const rootChange = makeLayer([
        dir('./', { mode: 0o700, uid: 1234, gid: 4321, xattrs: { 'user.layer': 'root xattr' } }),
        file('kept-out', 'x'),
        symlink('out', '/tmp'),
        file('out/evil', 'x'),
      ]);
      await expect(applyToActive(sn, 'rooted', { stream: streamOf(rootChange.gz), expectedDiffId: rootChange.diffId })).rejects.toThrow(/parent "out" is a symlink/);
      const after = lstatSync(target);
      expect({ mode: after.mode, uid: after.uid, gid: after.gid, ino: after.ino }).toEqual({ mode: before.st.mode, uid: before.st.uid, gid: before.st.gid, ino: before.st.ino });
      expect(await helper.listXattrs(target)).toEqual(before.xattrs);
      await helper.close();
      expect(readdirSync(target)).toEqual([]);
      writeFileSync(join(target, 'through-the-mount'), 'still the snapshot\n');
      await sn.commit('rooted-c', 'rooted');
      await withMounted(roots, await sn.view('rooted-v', 'rooted-c'), (m) => expect(readFileSync(join(m, 'through-the-mount'), 'utf8')).toBe('still the snapshot\n'));
    } finally {
      await unmount(target);
    }
    sn.close();
  });

  it('refuses a mounted snapshot: overlay forbids changing a mounted upper dir', async () => {
    const { sn } = await openSnapshotter(roots);
    const b = await applyLayer(sn, { stream: streamOf(base.gz), expectedDiffId: base.diffId });
    const mounts = await sn.prepare('mounted', b.chainId);
    const target = roots.make('berth-mnt-');
    await mountAll(mounts, target);
    try {
      await expect(applyToActive(sn, 'mounted', { stream: streamOf(good.gz), expectedDiffId: good.diffId })).rejects.toThrow(/snapshot "mounted" is mounted/);
    } finally {
      await unmount(target);
    }
    await applyToActive(sn, 'mounted', { stream: streamOf(good.gz), expectedDiffId: good.diffId });
    sn.close();
  });
});

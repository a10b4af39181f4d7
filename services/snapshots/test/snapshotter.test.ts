import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Snapshotter } from '../src/snapshotter.js';
import { SnapshotError } from '../src/errors.js';
import { mountAll, unmount } from '@berth/mount';
import { TempRoots, openSnapshotter, requireBinaries, withMounted } from './helpers.js';

const roots = new TempRoots();
beforeAll(() => requireBinaries('mount', 'umount', 'cp', 'perl'));
afterEach(() => roots.cleanup());

for (const driver of ['overlayfs', 'native'] as const) {
  describe(`snapshotter (${driver})`, () => {
    it('prepare → write through the mount → commit → view and child see the content', async () => {
      const { sn } = await openSnapshotter(roots, driver);
      expect(sn.info().driver).toBe(driver);
      const m = await sn.prepare('base-active', undefined, { a: '1' });
      expect(m).toEqual([{ type: 'bind', source: expect.stringMatching(/\/snapshots\/\d+\/fs$/), options: ['rbind', 'rw'] }]);
      await withMounted(roots, m, (dir) => {
        writeFileSync(join(dir, 'hello'), 'world');
        mkdirSync(join(dir, 'etc'));
        writeFileSync(join(dir, 'etc', 'conf'), 'v1');
      });
      const committed = await sn.commit('base', 'base-active');
      expect(committed).toMatchObject({ key: 'base', kind: 'committed', labels: { a: '1' } });
      await expect(sn.stat('base-active')).rejects.toMatchObject({ code: 'not_found' });
      await expect(sn.mounts('base')).rejects.toThrow(/committed; only active snapshots and views have mounts/);

      const child = await sn.prepare('child', 'base');
      if (driver === 'overlayfs') {
        expect(child[0]!.type).toBe('overlay');
        expect(child[0]!.options.find((o) => o.startsWith('lowerdir='))).toMatch(/\/snapshots\/\d+\/fs$/);
      }
      expect(await sn.mounts('child')).toEqual(child);
      await withMounted(roots, child, (dir) => {
        expect(readFileSync(join(dir, 'hello'), 'utf8')).toBe('world');
        writeFileSync(join(dir, 'etc', 'conf'), 'v2');
        writeFileSync(join(dir, 'new'), 'n');
      });
      await sn.commit('second', 'child', { layer: '2' });

      const view = await sn.view('v', 'second');
      expect(view.every((mm) => mm.options.includes('ro'))).toBe(true);
      await withMounted(roots, view, (dir) => {
        expect(readFileSync(join(dir, 'etc', 'conf'), 'utf8')).toBe('v2');
        expect(readFileSync(join(dir, 'new'), 'utf8')).toBe('n');
        expect(() => writeFileSync(join(dir, 'x'), 'x')).toThrow(/EROFS|read-only/);
      });
      // a view of a single layer is a read-only bind of that layer
      expect((await sn.view('v1', 'base'))[0]).toMatchObject({ type: 'bind', options: ['rbind', 'ro'] });
      await expect(sn.commit('nope', 'v')).rejects.toThrow(/is view; only active snapshots can be committed/);

      const parent = await sn.stat('second');
      expect(parent).toMatchObject({ kind: 'committed', parent: 'base', labels: { layer: '2' } });
      sn.close();
    });

    it('refuses to remove a snapshot with children and names them', async () => {
      const { sn } = await openSnapshotter(roots, driver);
      await sn.prepare('a', undefined);
      await sn.commit('A', 'a');
      await sn.prepare('b1', 'A');
      await sn.view('b2', 'A');
      const err = await sn.remove('A').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).code).toBe('failed_precondition');
      expect((err as Error).message).toBe('snapshot "A" cannot be removed: it is the parent of "b1", "b2"');
      await sn.remove('b1');
      await sn.remove('b2');
      const dirsBefore = readdirSync(join(sn.root, 'snapshots')).length;
      await sn.remove('A');
      // Gone from snapshots/ at once; deleted from removed/ in the background.
      expect(readdirSync(join(sn.root, 'snapshots')).length).toBe(dirsBefore - 1);
      await sn.removalsSettled();
      expect(readdirSync(join(sn.root, 'removed'))).toEqual([]);
      await expect(sn.remove('A')).rejects.toMatchObject({ code: 'not_found' });
      await expect(sn.prepare('x', 'missing')).rejects.toThrow(/parent snapshot "missing" does not exist/);
      await sn.prepare('act', undefined);
      await expect(sn.prepare('y', 'act')).rejects.toThrow(/is active; only committed snapshots can be parents/);
      await expect(sn.prepare('act', undefined)).rejects.toMatchObject({ code: 'already_exists' });
      sn.close();
    });

    it('usage counts bytes and inodes of the snapshot’s own data and caches it once committed', async () => {
      const { sn } = await openSnapshotter(roots, driver);
      const m = await sn.prepare('u', undefined);
      await withMounted(roots, m, (dir) => {
        writeFileSync(join(dir, 'big'), Buffer.alloc(1 << 20, 1));
        mkdirSync(join(dir, 'd'));
        writeFileSync(join(dir, 'd', 'small'), 'x');
      });
      const u = await sn.usage('u');
      expect(u.inodes).toBe(4); // root, big, d, d/small
      expect(u.size).toBeGreaterThanOrEqual(1 << 20);
      await sn.commit('U', 'u');
      const first = await sn.usage('U');
      expect(first).toEqual(u);
      // cached: a change on disk behind the snapshotter's back is not re-counted
      const target = join(sn.root, 'snapshots', String((await sn.stat('U')).id), 'fs', 'extra');
      writeFileSync(target, Buffer.alloc(1 << 16));
      expect(await sn.usage('U')).toEqual(first);
      sn.close();
    });

    it('updates labels (all, or by field path) and lists with containerd-style filters', async () => {
      const { sn } = await openSnapshotter(roots, driver);
      await sn.prepare('p', undefined, { keep: 'k', drop: 'd' });
      await sn.commit('P', 'p');
      await sn.prepare('c1', 'P', { role: 'x' });
      await sn.view('c2', 'P', { role: 'y', 'berth.io/gc': 'yes' });
      expect(await sn.update('P', { added: 'a', drop: 'D2' }, ['labels.added', 'labels.keep'])).toMatchObject({ labels: { drop: 'd', added: 'a' } });
      expect((await sn.update('P', { only: 'this' })).labels).toEqual({ only: 'this' });
      await expect(sn.update('P', {}, ['parent'])).rejects.toThrow(/cannot update field "parent"/);
      const keys = async (...f: string[]) => (await sn.list(f)).map((s) => s.key).sort();
      expect(await keys()).toEqual(['P', 'c1', 'c2']);
      expect(await keys('kind==committed')).toEqual(['P']);
      expect(await keys('parent==P,labels.role==y')).toEqual(['c2']);
      expect(await keys('labels."berth.io/gc"')).toEqual(['c2']);
      expect(await keys('kind==view', 'labels.role==x')).toEqual(['c1', 'c2']);
      expect(await keys('name~=^c')).toEqual(['c1', 'c2']);
      expect(await keys('kind!=committed,labels.role!=y')).toEqual(['c1']);
      await expect(sn.list(['colour==red'])).rejects.toThrow(/unknown field "colour"/);
      sn.close();
    });
  });
}

describe('removal safety', () => {
  it('refuses to remove a snapshot while something is mounted inside its directory', async () => {
    const { sn, root } = await openSnapshotter(roots);
    await sn.prepare('busy', undefined);
    const fs = join(root, 'snapshots', String((await sn.stat('busy')).id), 'fs');
    mkdirSync(join(fs, 'mnt'));
    const elsewhere = roots.make('berth-snap-src-');
    writeFileSync(join(elsewhere, 'precious'), 'must survive');
    await mountAll([{ type: 'bind', source: elsewhere, options: ['rbind', 'ro'] }], join(fs, 'mnt'));
    await expect(sn.remove('busy')).rejects.toThrow(/cannot be removed: .*\/mnt is mounted inside its directory/);
    expect((await sn.cleanup()).busyDirs).toEqual([]);
    await unmount(join(fs, 'mnt'));
    await sn.remove('busy');
    expect(readFileSync(join(elsewhere, 'precious'), 'utf8')).toBe('must survive');
    sn.close();
  });
});

describe('crash recovery', () => {
  it('removes in-flight records and orphaned directories on open, keeps committed work', async () => {
    const { sn, root } = await openSnapshotter(roots);
    await sn.prepare('base-a', undefined);
    await sn.commit('base', 'base-a');
    await sn.prepare('extract-1', 'base', { 'berth.io/snapshot.extracting': 'x' }, { inFlight: true });
    await sn.prepare('keep-active', 'base');
    const inflightId = (await sn.stat('extract-1')).id;
    // cleanup() in the running process leaves its own in-flight work alone
    expect((await sn.cleanup()).removedRecords).toEqual([]);
    sn.close(); // "crash": the process ends with an extraction in flight
    const orphan = join(root, 'snapshots', '999');
    mkdirSync(join(orphan, 'fs'), { recursive: true });
    writeFileSync(join(orphan, 'fs', 'junk'), 'x');
    // a removed snapshot's directory whose deletion in the background the crash cut short
    const halfDeleted = join(root, 'removed', '42.1.2.3');
    mkdirSync(join(halfDeleted, 'fs', 'deep'), { recursive: true });
    writeFileSync(join(halfDeleted, 'fs', 'deep', 'junk'), 'x');

    const again = await Snapshotter.open({ root });
    expect(readdirSync(join(root, 'removed'))).toEqual([]);
    expect((await again.list()).map((s) => s.key).sort()).toEqual(['base', 'keep-active']);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(join(root, 'snapshots', String(inflightId)))).toBe(false);
    const report = await again.cleanup();
    expect(report).toEqual({ removedRecords: [], removedDirs: [], busyDirs: [], removedPaths: [], reclaimedBytes: 0 });
    // an orphan appearing at runtime is reported with the space it held
    const late = join(root, 'snapshots', '1000');
    mkdirSync(join(late, 'fs'), { recursive: true });
    writeFileSync(join(late, 'fs', 'junk'), Buffer.alloc(64 * 1024, 1));
    const lateReport = await again.cleanup();
    expect(lateReport.removedDirs).toEqual([late]);
    expect(lateReport.removedPaths).toEqual([late]);
    expect(lateReport.reclaimedBytes).toBeGreaterThanOrEqual(64 * 1024);
    again.close();
  });

  it('a record whose transaction never committed leaves only a directory, which open removes', async () => {
    const { sn, root } = await openSnapshotter(roots);
    sn.close();
    // simulate a crash between mkdir and commit: the next id's directory exists without a record
    const db = new Database(join(root, 'metadata.db'));
    const seq = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'snapshots'").get() as { seq: number } | undefined)?.seq ?? 0;
    db.close();
    const dir = join(root, 'snapshots', String(seq + 1));
    mkdirSync(join(dir, 'fs'), { recursive: true });
    writeFileSync(join(dir, 'fs', 'half'), 'x');
    const again = await Snapshotter.open({ root });
    expect(existsSync(dir)).toBe(false);
    await again.prepare('fresh', undefined);
    expect((await again.stat('fresh')).id).toBe(seq + 1);
    expect(readdirSync(join(root, 'snapshots', String(seq + 1), 'fs'))).toEqual([]);
    again.close();
  });

  it('keeps the driver a root was created with', async () => {
    const { sn, root } = await openSnapshotter(roots, 'native');
    sn.close();
    await expect(Snapshotter.open({ root, driver: 'overlayfs' })).rejects.toThrow(/created with the native driver/);
    await expect(Snapshotter.open({ root: 'relative/dir' })).rejects.toThrow(/must be an absolute path/);
    await expect(Snapshotter.open({ root: '/tmp/a,b' })).rejects.toThrow(/must not contain ','/);
  });
});

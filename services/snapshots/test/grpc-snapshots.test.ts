// The Snapshots gRPC API end to end: real NATS, the service started from its
// spec in-process on its own state root, driven only through generated clients.
import * as grpc from '@grpc/grpc-js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPayloads, snapshots } from '@berth/api';
import { makeStateRoot, type StateRoot } from '@berth/testkit';
import { mountAll, unmountAll, type Mount } from '@berth/mount';
import { requireBinaries } from './helpers.js';
import { eventually, rpcError, startSnapshots, startSuite, type ServiceHandle, type Suite } from './support/suite.js';

const { SnapshotKind } = snapshots;

let suite: Suite;
let svc: ServiceHandle;
let mountSeq = 0;

beforeAll(async () => {
  requireBinaries('mount', 'umount', 'cp', 'perl', 'sync', 'nats-server');
  suite = await startSuite('snapgrpc');
  svc = await startSnapshots({ state: suite.state, natsUrl: suite.nats.url });
});

afterAll(async () => {
  await svc?.stop();
  await suite?.stop(); // unmounts everything under the state root, even after a failed test
});

const fromApi = (m: { type: string; source: string; target: string; options: string[] }): Mount => ({
  type: m.type,
  source: m.source,
  ...(m.target ? { target: m.target } : {}),
  options: m.options,
});

/** Mounts the snapshot's mounts, runs fn on the mount point, always unmounts. */
async function withMounted<T>(mounts: snapshots.PrepareSnapshotResponse['mounts'], fn: (dir: string) => T | Promise<T>): Promise<T> {
  const target = join(suite.mountDir, `m${mountSeq++}`);
  mkdirSync(target);
  await mountAll(mounts.map(fromApi), target);
  try {
    return await fn(target);
  } finally {
    await unmountAll(target);
  }
}

const prepareReq = (key: string, parent = '', labels: Record<string, string> = {}) => snapshots.PrepareSnapshotRequest.fromPartial({ key, parent, labels });
const key = (key: string) => ({ snapshotter: '', key });

describe('Snapshots over gRPC (overlayfs)', () => {
  it('describes the snapshotter', async () => {
    const info = await svc.snapshots.info(snapshots.GetSnapshotterInfoRequest.fromPartial({}));
    expect(info).toEqual({
      name: 'overlayfs',
      driver: 'overlayfs',
      root: join(suite.state.root, 'snapshots'),
      isDefault: true,
      available: ['overlayfs'],
    });
    const named = await svc.snapshots.info(snapshots.GetSnapshotterInfoRequest.fromPartial({ snapshotter: 'overlayfs' }));
    expect(named.driver).toBe('overlayfs');
    const err = await rpcError(svc.snapshots.info(snapshots.GetSnapshotterInfoRequest.fromPartial({ snapshotter: 'zfs' })));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/unknown snapshotter "zfs"; this service offers "overlayfs"/);
  });

  it('prepare → mounts → commit → view → remove, refusing to remove a parent while it has children', async () => {
    const prepared = await svc.snapshots.prepare(prepareReq('base-work', '', { 'berth.io/test': 'life' }));
    expect(prepared.mounts).toHaveLength(1);
    expect(prepared.mounts[0]).toMatchObject({ type: 'bind', options: ['rbind', 'rw'] });
    const again = await svc.snapshots.mounts(snapshots.GetSnapshotMountsRequest.fromPartial(key('base-work')));
    expect(again.mounts).toEqual(prepared.mounts);
    await withMounted(prepared.mounts, (dir) => {
      writeFileSync(join(dir, 'base.txt'), 'from the base layer\n');
      mkdirSync(join(dir, 'etc'));
      writeFileSync(join(dir, 'etc', 'hostname'), 'berth\n');
    });

    const active = await svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(key('base-work')));
    expect(active.info).toMatchObject({ name: 'base-work', parent: '', kind: SnapshotKind.ACTIVE, labels: { 'berth.io/test': 'life' } });
    expect(active.info?.createdAt?.seconds).toBeGreaterThan(1_600_000_000);

    await svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'base', key: 'base-work' }));
    const base = await svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(key('base')));
    expect(base.info).toMatchObject({ name: 'base', kind: SnapshotKind.COMMITTED, labels: { 'berth.io/test': 'life' } });
    const gone = await rpcError(svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(key('base-work'))));
    expect(gone.code).toBe(grpc.status.NOT_FOUND);

    // A container's writable layer on top: overlay, base visible, own writes stay in its upper dir.
    const child = await svc.snapshots.prepare(prepareReq('container-1', 'base'));
    expect(child.mounts[0]?.type).toBe('overlay');
    expect(child.mounts[0]?.options.some((o) => o.startsWith('lowerdir='))).toBe(true);
    await withMounted(child.mounts, (dir) => {
      expect(readFileSync(join(dir, 'base.txt'), 'utf8')).toBe('from the base layer\n');
      writeFileSync(join(dir, 'etc', 'hostname'), 'container-1\n');
    });

    // A read-only view of the base.
    const view = await svc.snapshots.view(snapshots.ViewSnapshotRequest.fromPartial({ key: 'base-view', parent: 'base' }));
    await withMounted(view.mounts, (dir) => {
      expect(readFileSync(join(dir, 'etc', 'hostname'), 'utf8')).toBe('berth\n');
      expect(() => writeFileSync(join(dir, 'nope'), 'x')).toThrow(/EROFS|read-only/);
    });
    const viewInfo = await svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(key('base-view')));
    expect(viewInfo.info).toMatchObject({ kind: SnapshotKind.VIEW, parent: 'base' });

    const refused = await rpcError(svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(key('base'))));
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).toMatch(/snapshot "base" cannot be removed: it is the parent of "container-1", "base-view"/);

    await svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(key('container-1')));
    await svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(key('base-view')));
    await svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(key('base')));
    const list = await svc.snapshots.list(snapshots.ListSnapshotsRequest.fromPartial({}));
    expect(list.infos.map((i) => i.name)).not.toContain('base');

    // Events: committed with key and parent, removed for each removal, in the default namespace.
    const committed = await eventually('snapshots.committed for base', () =>
      suite.events.find((e) => e.type === 'snapshots.committed' && e.payload.name === 'base'),
    );
    expect(committed).toMatchObject({ namespace: 'default', source: 'snapshots', node: 'test-node' });
    // payloads travel in the proto JSON form (defaults omitted): decode them with the events codec
    expect(eventPayloads['snapshots.committed'].fromJSON(committed.payload)).toEqual({ snapshotter: 'overlayfs', name: 'base', key: 'base-work', parent: '' });
    for (const k of ['container-1', 'base-view', 'base']) {
      const removed = await eventually(`snapshots.removed for ${k}`, () => suite.events.find((e) => e.type === 'snapshots.removed' && e.payload.key === k));
      expect(eventPayloads['snapshots.removed'].fromJSON(removed.payload)).toEqual({ snapshotter: 'overlayfs', key: k });
    }
  });

  it('reports usage of a snapshot’s own data', async () => {
    const p = await svc.snapshots.prepare(prepareReq('usage-1'));
    await withMounted(p.mounts, (dir) => {
      writeFileSync(join(dir, 'big'), Buffer.alloc(256 * 1024, 7));
      mkdirSync(join(dir, 'd'));
      writeFileSync(join(dir, 'd', 'small'), 'x');
    });
    const { usage } = await svc.snapshots.usage(snapshots.GetSnapshotUsageRequest.fromPartial(key('usage-1')));
    expect(usage?.size).toBeGreaterThanOrEqual(256 * 1024);
    expect(usage?.inodes).toBe(4); // root, big, d, d/small
    await svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'usage-1c', key: 'usage-1' }));
    const committed = await svc.snapshots.usage(snapshots.GetSnapshotUsageRequest.fromPartial(key('usage-1c')));
    expect(committed.usage).toEqual(usage);
  });

  it('lists with filters: same key any-of, different keys all-of, parents before children', async () => {
    await svc.snapshots.prepare(prepareReq('f-base-work', '', { tier: 'gold' }));
    await svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'f-base', key: 'f-base-work' }));
    await svc.snapshots.prepare(prepareReq('f-a', 'f-base', { tier: 'gold', team: 'x' }));
    await svc.snapshots.prepare(prepareReq('f-b', 'f-base', { tier: 'silver' }));
    await svc.snapshots.view(snapshots.ViewSnapshotRequest.fromPartial({ key: 'f-v', parent: 'f-base' }));
    const names = async (...filters: string[]) =>
      (await svc.snapshots.list(snapshots.ListSnapshotsRequest.fromPartial({ filters }))).infos.map((i) => i.name).filter((n) => n.startsWith('f-'));

    expect(await names()).toEqual(['f-base', 'f-a', 'f-b', 'f-v']);
    expect(await names('parent=f-base')).toEqual(['f-a', 'f-b', 'f-v']);
    expect(await names('kind=committed')).toEqual(['f-base']);
    expect(await names('kind=view', 'kind=committed')).toEqual(['f-base', 'f-v']);
    expect(await names('label=tier=gold')).toEqual(['f-base', 'f-a']);
    expect(await names('label=team')).toEqual(['f-a']);
    expect(await names('label=tier=gold', 'kind=active')).toEqual(['f-a']);
    expect(await names('name=f-a', 'name=f-v')).toEqual(['f-a', 'f-v']);
    expect(await names('name=f-a', 'kind=view')).toEqual([]);
    expect((await svc.snapshots.list(snapshots.ListSnapshotsRequest.fromPartial({ filters: ['parent='] }))).infos.map((i) => i.name)).toContain('f-base');

    for (const [filter, message] of [
      ['colour=red', /unknown key "colour"; known keys: name, parent, kind, label/],
      ['kind=frozen', /kind must be one of view, active, committed/],
      ['label=', /expected label=KEY or label=KEY=VALUE/],
    ] as const) {
      const err = await rpcError(svc.snapshots.list(snapshots.ListSnapshotsRequest.fromPartial({ filters: [filter] })));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
  });

  it('updates labels: all of them, or the ones a field mask names', async () => {
    await svc.snapshots.prepare(prepareReq('lbl', '', { a: '1', b: '2' }));
    const all = await svc.snapshots.update(snapshots.UpdateSnapshotRequest.fromPartial({ info: { name: 'lbl', labels: { c: '3' } } }));
    expect(all.info?.labels).toEqual({ c: '3' });
    const some = await svc.snapshots.update(
      snapshots.UpdateSnapshotRequest.fromPartial({ info: { name: 'lbl', labels: { d: '4' } }, updateMask: ['labels.d', 'labels.c'] }),
    );
    expect(some.info?.labels).toEqual({ d: '4' });
    const stat = await svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(key('lbl')));
    expect(stat.info?.labels).toEqual({ d: '4' });
    const bad = await rpcError(svc.snapshots.update(snapshots.UpdateSnapshotRequest.fromPartial({ info: { name: 'lbl' }, updateMask: ['parent'] })));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/cannot update field "parent"/);
    const noName = await rpcError(svc.snapshots.update(snapshots.UpdateSnapshotRequest.fromPartial({ info: { labels: { x: 'y' } } })));
    expect(noName.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND, ALREADY_EXISTS and FAILED_PRECONDITION with the input named', async () => {
    for (const call of [
      () => svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(key('no-such'))),
      () => svc.snapshots.mounts(snapshots.GetSnapshotMountsRequest.fromPartial(key('no-such'))),
      () => svc.snapshots.usage(snapshots.GetSnapshotUsageRequest.fromPartial(key('no-such'))),
      () => svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(key('no-such'))),
      () => svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'x', key: 'no-such' })),
    ]) {
      const err = await rpcError(call());
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toMatch(/snapshot "no-such" does not exist/);
    }
    const noParent = await rpcError(svc.snapshots.prepare(prepareReq('orphan', 'no-such-parent')));
    expect(noParent.code).toBe(grpc.status.NOT_FOUND);
    expect(noParent.details).toMatch(/parent snapshot "no-such-parent" does not exist/);

    await svc.snapshots.prepare(prepareReq('dup'));
    const dup = await rpcError(svc.snapshots.prepare(prepareReq('dup')));
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(dup.details).toMatch(/snapshot "dup" already exists/);
    const activeParent = await rpcError(svc.snapshots.prepare(prepareReq('on-active', 'dup')));
    expect(activeParent.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(activeParent.details).toMatch(/parent snapshot "dup" is active; only committed snapshots can be parents/);

    await svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'dup-c', key: 'dup' }));
    const committedMounts = await rpcError(svc.snapshots.mounts(snapshots.GetSnapshotMountsRequest.fromPartial(key('dup-c'))));
    expect(committedMounts.code).toBe(grpc.status.FAILED_PRECONDITION);
    const emptyKey = await rpcError(svc.snapshots.prepare(prepareReq('')));
    expect(emptyKey.code).toBe(grpc.status.INVALID_ARGUMENT);

    const badNamespace = await rpcError(svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'y', key: 'x' }), 'bad namespace!'));
    expect(badNamespace.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badNamespace.details).toMatch(/berth-namespace/);
  });

  it('stores commit and remove events durably, in the namespace the request names', async () => {
    await svc.snapshots.prepare(prepareReq('ns-work'));
    await svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'ns-layer', key: 'ns-work', labels: { kept: 'yes' } }), 'team-a');
    await svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(key('ns-layer')), 'team-a');
    // A durable consumer created afterwards still gets both from JetStream.
    const stored: { type: string; payload: unknown }[] = [];
    const consumer = await suite.observer.consume<Record<string, unknown>>('snapshots-test', 'berth.team-a.events.snapshots.>', (env) => {
      stored.push({ type: env.type, payload: env.payload });
    });
    try {
      await eventually('both stored events', () => (stored.length >= 2 ? stored : undefined));
    } finally {
      await consumer.stop();
    }
    expect(stored).toEqual([
      { type: 'snapshots.committed', payload: { snapshotter: 'overlayfs', name: 'ns-layer', key: 'ns-work' } },
      { type: 'snapshots.removed', payload: { snapshotter: 'overlayfs', key: 'ns-layer' } },
    ]);
  });

  it('cleans up directories no record owns and reports the space reclaimed', async () => {
    const orphan = join(suite.state.root, 'snapshots', 'snapshots', '9999');
    mkdirSync(join(orphan, 'fs'), { recursive: true });
    writeFileSync(join(orphan, 'fs', 'junk'), Buffer.alloc(128 * 1024, 1));
    const report = await svc.snapshots.cleanup(snapshots.CleanupSnapshotsRequest.fromPartial({}));
    expect(report.removedPaths).toEqual([orphan]);
    expect(report.reclaimedBytes).toBeGreaterThanOrEqual(128 * 1024);
    const none = await svc.snapshots.cleanup(snapshots.CleanupSnapshotsRequest.fromPartial({}));
    expect(none).toEqual({ removedPaths: [], reclaimedBytes: 0 });
  });
});

describe('Snapshots over gRPC (native driver)', () => {
  let state: StateRoot;
  let native: ServiceHandle;

  beforeAll(async () => {
    state = await makeStateRoot('snapnative');
    native = await startSnapshots({ state, natsUrl: suite.nats.url, extraArgs: ['--driver', 'native'] });
  });
  afterAll(async () => {
    await native?.stop();
    await state?.cleanup();
  });

  it('copies the parent for an active snapshot and reports its driver', async () => {
    const info = await native.snapshots.info(snapshots.GetSnapshotterInfoRequest.fromPartial({}));
    expect(info).toMatchObject({ name: 'native', driver: 'native', available: ['native'] });
    const p = await native.snapshots.prepare(prepareReq('n-work'));
    await withMounted(p.mounts, (dir) => writeFileSync(join(dir, 'from-base'), 'base\n'));
    await native.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'n-base', key: 'n-work' }));
    const child = await native.snapshots.prepare(prepareReq('n-child', 'n-base'));
    expect(child.mounts).toHaveLength(1);
    expect(child.mounts[0]).toMatchObject({ type: 'bind', options: ['rbind', 'rw'] });
    await withMounted(child.mounts, (dir) => {
      expect(readFileSync(join(dir, 'from-base'), 'utf8')).toBe('base\n');
      writeFileSync(join(dir, 'from-base'), 'changed in the child\n');
    });
    const view = await native.snapshots.view(snapshots.ViewSnapshotRequest.fromPartial({ key: 'n-view', parent: 'n-base' }));
    await withMounted(view.mounts, (dir) => expect(readFileSync(join(dir, 'from-base'), 'utf8')).toBe('base\n'));
    const wrong = await rpcError(native.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial({ snapshotter: 'overlayfs', key: 'n-base' })));
    expect(wrong.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

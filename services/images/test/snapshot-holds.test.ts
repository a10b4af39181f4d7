// The snapshot GC's decisions and its guard for running unpacks, with a real
// images core (its own state dir) and the real snapshots service: snapshots
// shaped like an unpack's (committed, labelled) but with no image record are
// what a pull has just unpacked and not yet recorded; a hold keeps them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshots } from '@berth/api';
import { createClient } from '@berth/service-kit';
import { createLogger } from '@berth/telemetry';
import { makeStateRoot, startNats, type StateRoot, type TestNats } from '@berth/testkit';
import { ImagesCore } from '../src/core.js';
import { snapshotCollector, type SnapshotCollector } from '../src/grpc/snapshot-gc.js';
import { snapshotsTarget } from '../src/grpc/unpack.js';
import { SnapshotHolds } from '../src/snapshot-holds.js';
import { UNPACKED_BY, UNPACKED_BY_LABEL, planSnapshotGc, type SnapshotNode } from '../src/snapshot-plan.js';
import { rpc } from './grpc-harness.js';
import { startSnapshotsProcess, type SnapshotsProcess } from './snapshots-process.js';

const unpacked: Record<string, string> = { [UNPACKED_BY_LABEL]: UNPACKED_BY };

describe('planSnapshotGc', () => {
  const node = (name: string, parent: string, kind: SnapshotNode['kind'] = 'committed', labels = unpacked): SnapshotNode => ({ name, parent, kind, labels });

  it('removes unkept unpacked snapshots children first, keeping the kept ones, those under them and everything not unpacked', () => {
    const all = [
      node('base', ''),
      node('a1', 'base'),
      node('a2', 'a1'),
      node('b1', 'base'),
      node('user', '', 'committed', {}),
      node('c1', 'user'),
      node('d1', ''),
      node('container', 'd1', 'active', {}),
      node('extracting', '', 'active'),
    ];
    const plan = planSnapshotGc(all, new Set(['base', 'b1']));
    expect(plan.remove).toEqual(['a2', 'a1', 'c1']);
    expect(plan.underKept).toEqual(['d1']);
    expect(planSnapshotGc(all, new Set()).remove).toEqual(['a2', 'a1', 'b1', 'base', 'c1']);
  });
});

describe('snapshot GC with holds, against the real snapshots service', () => {
  let state: StateRoot | undefined;
  let nats: TestNats | undefined;
  let snaps: SnapshotsProcess | undefined;
  let core: ImagesCore | undefined;
  let client: snapshots.SnapshotsClient | undefined;
  let holds: SnapshotHolds;
  let gc: SnapshotCollector;

  beforeAll(async () => {
    state = await makeStateRoot('berth-images-holds');
    nats = await startNats({ jetstream: true });
    snaps = await startSnapshotsProcess({ root: state.root, runtimeDir: state.runtimeDir, natsUrl: nats.url, node: 'holds-test' });
    client = createClient(snapshots.SnapshotsClient, snaps.address);
    core = await ImagesCore.open({ stateDir: `${state.root}/images` });
    holds = new SnapshotHolds();
    const logger = createLogger({ service: 'images', node: 'holds-test', level: 'silent' });
    gc = snapshotCollector({ core, holds, target: snapshotsTarget(snaps.address), snapshotter: 'overlayfs', logger });
  });
  afterAll(async () => {
    client?.close();
    core?.close();
    await snaps?.stop();
    await nats?.stop();
    await state?.cleanup();
  });

  /** A committed snapshot as an unpack leaves it (labelled), on `parent`. */
  async function unpackedLike(name: string, parent: string): Promise<void> {
    await rpc((cb) => client!.prepareSnapshot({ snapshotter: '', key: `work ${name}`, parent, labels: unpacked }, cb));
    await rpc((cb) => client!.commitSnapshot({ snapshotter: '', name, key: `work ${name}`, labels: unpacked }, cb));
  }
  async function names(): Promise<string[]> {
    const res = await rpc<snapshots.ListSnapshotsResponse>((cb) => client!.listSnapshots({ snapshotter: '', filters: [] }, cb));
    return res.infos.map((i) => i.name).sort();
  }

  it('keeps what a live hold protects, removes it once the hold is released', async () => {
    await unpackedLike('held-1', '');
    await unpackedLike('held-2', 'held-1');
    const hold = holds.hold();
    await hold.protect(['held-1', 'held-2']);
    const kept = await gc.collect({ namespace: 'default', why: 'test' });
    expect(kept?.removed).toEqual([]);
    expect(await names()).toEqual(['held-1', 'held-2']);

    hold.release();
    const dry = await gc.collect({ namespace: 'default', dryRun: true, why: 'test' });
    expect(dry?.removed).toEqual(['held-2', 'held-1']);
    expect(await names()).toEqual(['held-1', 'held-2']);
    const done = await gc.collect({ namespace: 'default', why: 'test' });
    expect(done?.removed).toEqual(['held-2', 'held-1']);
    expect(await names()).toEqual([]);
  });

  it('a hold taken while a pass runs waits for the pass, so its unpack starts after it', async () => {
    await unpackedLike('racing', '');
    const order: string[] = [];
    const pass = gc.collect({ namespace: 'default', why: 'test' }).then((r) => {
      order.push('pass');
      return r;
    });
    const hold = holds.hold();
    const protecting = hold.protect(['racing']).then(() => order.push('protected'));
    const [result] = await Promise.all([pass, protecting]);
    expect(order).toEqual(['pass', 'protected']);
    expect(result?.removed).toEqual(['racing']); // the pass began first: the snapshot was unheld then
    hold.release();
  });

  it('does not fail when the snapshots service is unreachable (the caller is not failed; logged)', async () => {
    const away = snapshotCollector({
      core: core!,
      holds,
      target: snapshotsTarget(`unix:${state!.runtimeDir}/nobody.sock`),
      snapshotter: 'overlayfs',
      logger: createLogger({ service: 'images', node: 'holds-test', level: 'silent' }),
    });
    expect(await away.collect({ namespace: 'default', why: 'test' })).toBeUndefined();
  });
});

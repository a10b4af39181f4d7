// The Layers gRPC API end to end: the real images service (child process)
// holds the layer blobs, the snapshots service runs in-process from its
// spec, everything is driven through generated clients, mounts are real
// overlay mounts. Only the test of a client leaving mid-layer uses a
// stand-in Content server, because it needs a read that never finishes.
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPayloads, snapshots, types } from '@berth/api';
import { LAYERED_EXPECTED, blobPath, layeredImage, makeStateRoot, type BuiltImage, type StateRoot } from '@berth/testkit';
import { mountAll, unmountAll, type Mount } from '@berth/mount';
import { Sentinel, TempRoots, describeTree, dir, file, makeLayer, requireBinaries, symlink } from './helpers.js';
import { contentClient, sha256, type ContentClient } from './support/content-client.js';
import { startFakeContent, type FakeContent } from './support/fake-content.js';
import { startImagesService, type ImagesService } from './support/images-service.js';
import { eventually, rpcError, startSnapshots, startSuite, type ServiceHandle, type Suite } from './support/suite.js';

const { ProgressState } = types;
const { LayerCompression } = snapshots;

let suite: Suite;
let svc: ServiceHandle;
let images: ImagesService;
let content: ContentClient;
let image: BuiltImage;
let chainIds: string[];
const roots = new TempRoots();
let mountSeq = 0;

/** Chain ids as the OCI image spec defines them, computed here independently of the service. */
function expectedChainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

beforeAll(async () => {
  requireBinaries('mount', 'umount', 'cp', 'perl', 'sync', 'zstd', 'nats-server');
  suite = await startSuite('snaplayers');
  images = await startImagesService({ state: suite.state, natsUrl: suite.nats.url });
  content = contentClient(images.address);
  svc = await startSnapshots({ state: suite.state, natsUrl: suite.nats.url });
  image = await layeredImage();
  for (const l of image.layers) await content.put(readFileSync(blobPath(image.layoutDir, l.digest)));
  chainIds = expectedChainIds(image.layers.map((l) => l.diffId));
});

afterAll(async () => {
  content?.close();
  await svc?.stop();
  await images?.stop();
  await suite?.stop(); // unmounts everything under the state root, even after a failed test
  await roots.cleanup();
});

const fromApi = (m: types.Mount): Mount => ({ type: m.type, source: m.source, ...(m.target ? { target: m.target } : {}), options: m.options });

async function withMounted<T>(mounts: types.Mount[], fn: (dir: string) => T | Promise<T>): Promise<T> {
  const target = join(suite.mountDir, `m${mountSeq++}`);
  mkdirSync(target);
  await mountAll(mounts.map(fromApi), target);
  try {
    return await fn(target);
  } finally {
    await unmountAll(target);
  }
}

const layerDescriptor = (l: { mediaType: string; digest: string; size: number }) => types.Descriptor.fromPartial(l);
const unpackReq = (layers: { mediaType: string; digest: string; size: number; diffId: string }[], labels: Record<string, string> = {}) =>
  snapshots.UnpackImageRequest.fromPartial({ layers: layers.map(layerDescriptor), diffIds: layers.map((l) => l.diffId), labels });
const keyReq = (key: string) => ({ snapshotter: '', key });

async function snapshotNames(service: ServiceHandle = svc): Promise<string[]> {
  return (await service.snapshots.list(snapshots.ListSnapshotsRequest.fromPartial({}))).infos.map((i) => i.name).sort();
}

function snapshotDirs(state: StateRoot = suite.state): string[] {
  return readdirSync(join(state.root, 'snapshots', 'snapshots')).sort();
}

/** Every path below root/data, sorted, relative to root. */
function listData(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    out.push(rel);
    if (lstatSync(join(root, rel)).isDirectory()) for (const n of readdirSync(join(root, rel))) walk(`${rel}/${n}`);
  };
  walk('data');
  return out.sort();
}

function expectLayeredRoot(root: string): void {
  for (const [path, want] of Object.entries(LAYERED_EXPECTED.files)) {
    const st = lstatSync(join(root, path));
    expect(st.isFile(), path).toBe(true);
    expect(readFileSync(join(root, path), 'utf8'), path).toBe(want.content);
    expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, path).toEqual({ mode: want.mode, uid: want.uid, gid: want.gid });
  }
  for (const [path, want] of Object.entries(LAYERED_EXPECTED.dirs)) {
    const st = lstatSync(join(root, path));
    expect(st.isDirectory(), path).toBe(true);
    expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, path).toEqual({ mode: want.mode, uid: want.uid, gid: want.gid });
  }
  for (const [a, b] of LAYERED_EXPECTED.hardlinks) expect(statSync(join(root, a)).ino, `${a} = ${b}`).toBe(statSync(join(root, b)).ino);
  for (const [path, target] of Object.entries(LAYERED_EXPECTED.symlinks)) expect(readlinkSync(join(root, path)), path).toBe(target);
  for (const path of LAYERED_EXPECTED.fifos) expect(lstatSync(join(root, path)).isFIFO(), path).toBe(true);
  for (const path of LAYERED_EXPECTED.absent) expect(existsSync(join(root, path)), `${path} must be gone`).toBe(false);
  expect(listData(root)).toEqual([...LAYERED_EXPECTED.tree]);
}

describe('UnpackImage', () => {
  it('applies an image’s layers in order with per-layer progress; whiteouts and opaque dirs are honoured in the mounted result', async () => {
    const messages = await svc.layers.unpack(unpackReq(image.layers, { 'berth.io/image': 'layered' }));
    const result = messages.at(-1)?.event;
    expect(result?.$case).toBe('result');
    expect(result?.value).toEqual({ chainIds, appliedLayers: 3 });
    expect(messages.filter((m) => m.event?.$case === 'result')).toHaveLength(1);

    // Per layer: EXTRACTING first, DONE last, bytes of the blob as total.
    const progress = messages.flatMap((m) => (m.event?.$case === 'progress' ? [m.event.value] : []));
    for (const l of image.layers) {
      const mine = progress.filter((p) => p.digest === l.digest);
      expect(mine[0]).toMatchObject({ state: ProgressState.EXTRACTING, current: 0, total: l.size, mediaType: l.mediaType, id: l.digest.slice(7, 19) });
      expect(mine.at(-1)).toMatchObject({ state: ProgressState.DONE, current: l.size, total: l.size });
    }
    expect(progress.map((p) => p.digest).filter((d, i, all) => all.indexOf(d) === i)).toEqual(image.layers.map((l) => l.digest));

    for (const [i, id] of chainIds.entries()) {
      const { info } = await svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(keyReq(id)));
      expect(info).toMatchObject({ name: id, parent: i === 0 ? '' : chainIds[i - 1], kind: snapshots.SnapshotKind.COMMITTED });
      expect(info?.labels['berth.io/image']).toBe('layered');
    }

    const view = await svc.snapshots.view(snapshots.ViewSnapshotRequest.fromPartial({ key: 'layered-view', parent: chainIds[2] }));
    expect(view.mounts[0]?.type).toBe('overlay');
    await withMounted(view.mounts, (root) => expectLayeredRoot(root));
    await svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(keyReq('layered-view')));

    for (const [i, id] of chainIds.entries()) {
      const e = await eventually(`snapshots.committed for layer ${i}`, () => suite.events.find((x) => x.type === 'snapshots.committed' && x.payload.name === id));
      const payload = eventPayloads['snapshots.committed'].fromJSON(e.payload);
      expect(payload).toMatchObject({ snapshotter: 'overlayfs', name: id, parent: i === 0 ? '' : chainIds[i - 1] });
      expect(payload.key).toMatch(/^extract-[0-9a-f]{12} sha256:/);
    }
  });

  it('is a no-op for layers already committed', async () => {
    const committedBefore = suite.events.filter((e) => e.type === 'snapshots.committed').length;
    const dirsBefore = snapshotDirs();
    const messages = await svc.layers.unpack(unpackReq(image.layers));
    expect(messages.at(-1)?.event).toEqual({ $case: 'result', value: { chainIds, appliedLayers: 0 } });
    const states = messages.flatMap((m) => (m.event?.$case === 'progress' ? [m.event.value.state] : []));
    expect(states).toEqual([ProgressState.EXISTS, ProgressState.EXISTS, ProgressState.EXISTS]);
    expect(snapshotDirs()).toEqual(dirsBefore);
    await suite.observer.flush();
    expect(suite.events.filter((e) => e.type === 'snapshots.committed')).toHaveLength(committedBefore);
  });

  it('reports bytes while it extracts a large layer', async () => {
    const big = makeLayer([dir('big'), file('big/random', randomBytes(3 * 1024 * 1024))]);
    const digest = await content.put(big.gz);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: big.gz.length, diffId: big.diffId };
    const messages = await svc.layers.unpack(unpackReq([layer]));
    const progress = messages.flatMap((m) => (m.event?.$case === 'progress' ? [m.event.value] : []));
    const during = progress.filter((p) => p.state === ProgressState.EXTRACTING && p.current > 0);
    expect(during.length).toBeGreaterThan(0);
    for (const p of during) expect(p.current).toBeLessThanOrEqual(layer.size);
    expect(progress.at(-1)).toMatchObject({ state: ProgressState.DONE, current: layer.size });
    expect(messages.at(-1)?.event).toEqual({ $case: 'result', value: { chainIds: [big.diffId], appliedLayers: 1 } });
  });

  it('two concurrent unpacks sharing layers commit each snapshot once', async () => {
    const a = makeLayer([dir('shared'), file('shared/a', 'a\n')]);
    const b = makeLayer([dir('shared'), file('shared/b', 'b\n')]);
    const layers = await Promise.all(
      [a, b].map(async (l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await content.put(l.gz), size: l.gz.length, diffId: l.diffId })),
    );
    const ids = expectedChainIds(layers.map((l) => l.diffId));
    const [first, second] = await Promise.all([svc.layers.unpack(unpackReq(layers)), svc.layers.unpack(unpackReq(layers))]);
    const results = [first!, second!].map((m) => m.at(-1)?.event);
    for (const r of results) expect(r).toMatchObject({ $case: 'result', value: { chainIds: ids } });
    const applied = results.map((r) => (r?.$case === 'result' ? r.value.appliedLayers : -1));
    expect(applied[0]! + applied[1]!).toBe(2);
    await suite.observer.flush();
    for (const id of ids) {
      await eventually(`committed event for ${id}`, () => suite.events.find((e) => e.type === 'snapshots.committed' && e.payload.name === id));
      expect(suite.events.filter((e) => e.type === 'snapshots.committed' && e.payload.name === id)).toHaveLength(1);
    }
    expect((await snapshotNames()).filter((n) => n.startsWith('extract-'))).toEqual([]);
  });

  it('checks the request: pairs of layers and diff ids, digests', async () => {
    const l = image.layers[0]!;
    const mismatch = await rpcError(
      svc.layers.unpack(snapshots.UnpackImageRequest.fromPartial({ layers: [layerDescriptor(l)], diffIds: [l.diffId, l.diffId] })),
    );
    expect(mismatch.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(mismatch.details).toMatch(/got 1 layers but 2 diff ids/);
    const badDigest = await rpcError(svc.layers.unpack(snapshots.UnpackImageRequest.fromPartial({ layers: [{ ...layerDescriptor(l), digest: 'md5:abc' }], diffIds: [l.diffId] })));
    expect(badDigest.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badDigest.details).toMatch(/layers\[0\]: digest "md5:abc" is not a sha256 digest/);
    const none = await rpcError(svc.layers.unpack(snapshots.UnpackImageRequest.fromPartial({})));
    expect(none.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('ApplyLayer', () => {
  it('applies a layer from the content store into a prepared snapshot, which then commits', async () => {
    const second = image.layers[1]!;
    await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'apply-target', parent: chainIds[0] }));
    const res = await svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'apply-target', layer: layerDescriptor(second), diffId: second.diffId }));
    expect(res.diffId).toBe(second.diffId);
    expect(res.entries).toBeGreaterThan(5);
    expect(res.uncompressedSize % 512).toBe(0);
    expect(res.uncompressedSize).toBeGreaterThan(second.size);
    await svc.snapshots.commit(snapshots.CommitSnapshotRequest.fromPartial({ name: 'applied-two', key: 'apply-target' }));
    const view = await svc.snapshots.view(snapshots.ViewSnapshotRequest.fromPartial({ key: 'applied-two-view', parent: 'applied-two' }));
    await withMounted(view.mounts, (root) => {
      expect(readFileSync(join(root, 'data/hello.txt'), 'utf8')).toBe('hello from layer 2\n');
      expect(existsSync(join(root, 'data/delete-me.txt'))).toBe(false);
      expect(readdirSync(join(root, 'data/replaced'))).toEqual(['new.txt']); // opaque: layer 1's entries hidden
      expect(existsSync(join(root, 'data/gone-dir/inner.txt'))).toBe(true); // deleted only by layer 3
    });
    await svc.snapshots.remove(snapshots.RemoveSnapshotRequest.fromPartial(keyReq('applied-two-view')));
  });

  it('refuses a snapshot that already has changes of its own, or is not active', async () => {
    const l = image.layers[0]!;
    const p = await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'dirty', parent: chainIds[0] }));
    await withMounted(p.mounts, (root) => writeFileSync(join(root, 'mine'), 'x'));
    const dirty = await rpcError(svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'dirty', layer: layerDescriptor(l), diffId: l.diffId })));
    expect(dirty.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(dirty.details).toMatch(/snapshot "dirty" already has changes of its own/);
    const committed = await rpcError(svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: chainIds[0], layer: layerDescriptor(l), diffId: l.diffId })));
    expect(committed.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(committed.details).toMatch(/is committed; layers are applied to active snapshots/);
    const missing = await rpcError(svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'no-such', layer: layerDescriptor(l), diffId: l.diffId })));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    const noLayer = await rpcError(svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'dirty', diffId: l.diffId })));
    expect(noLayer.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noLayer.details).toMatch(/layer is missing/);
  });

  it('answers NOT_FOUND naming a blob the content store does not have', async () => {
    await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'blobless' }));
    const digest = sha256('never stored');
    const err = await rpcError(
      svc.layers.apply(
        snapshots.ApplyLayerRequest.fromPartial({ key: 'blobless', layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: 10 }, diffId: digest }),
      ),
    );
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain(`layer blob ${digest} is not in the content store of the images service at ${images.address}`);
    expect((await svc.snapshots.stat(snapshots.StatSnapshotRequest.fromPartial(keyReq('blobless')))).info?.kind).toBe(snapshots.SnapshotKind.ACTIVE);
  });
});

describe('hostile layers through gRPC', () => {
  let sentinel: Sentinel;
  let before: Awaited<ReturnType<Sentinel['snapshot']>>;
  beforeAll(async () => {
    sentinel = new Sentinel(roots);
    before = await sentinel.snapshot();
  });

  async function putLayer(members: Parameters<typeof makeLayer>[0]) {
    const layer = makeLayer(members);
    const digest = await content.put(layer.gz);
    return { layer, descriptor: types.Descriptor.fromPartial({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: layer.gz.length }) };
  }

  it('UnpackImage refuses a path escape (INVALID_ARGUMENT) and a diff_id mismatch (DATA_LOSS), committing nothing', async () => {
    const namesBefore = await snapshotNames();
    const dirsBefore = snapshotDirs();
    const escape = await putLayer([dir('etc'), file('../../../../../../tmp/evil', 'pwned')]);
    const err = await rpcError(svc.layers.unpack(snapshots.UnpackImageRequest.fromPartial({ layers: [escape.descriptor], diffIds: [escape.layer.diffId] })));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/has a '\.\.' component; layer paths must stay inside the root/);

    const planted = await putLayer([dir('etc'), symlink('etc/evil', sentinel.dir), file('etc/evil/file', 'pwned')]);
    const viaLink = await rpcError(svc.layers.unpack(snapshots.UnpackImageRequest.fromPartial({ layers: [planted.descriptor], diffIds: [planted.layer.diffId] })));
    expect(viaLink.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(viaLink.details).toMatch(/parent "etc\/evil" is a symlink/);

    const honest = await putLayer([dir('etc'), file('etc/motd', 'hello\n')]);
    const wrongDiffId = sha256('some other tar');
    const mismatch = await rpcError(svc.layers.unpack(snapshots.UnpackImageRequest.fromPartial({ layers: [honest.descriptor], diffIds: [wrongDiffId] })));
    expect(mismatch.code).toBe(grpc.status.DATA_LOSS);
    expect(mismatch.details).toContain(wrongDiffId);

    expect(await snapshotNames()).toEqual(namesBefore);
    expect(snapshotDirs()).toEqual(dirsBefore);
    expect(await sentinel.snapshot()).toEqual(before);
    expect(existsSync('/tmp/evil')).toBe(false);
  });

  it('ApplyLayer refuses a hostile layer and leaves the snapshot as prepared', async () => {
    await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'victim', parent: chainIds[2] }));
    const hostile = await putLayer([dir('data'), file('data/ok.txt', 'fine'), symlink('data/out', sentinel.dir), file('data/out/file', 'pwned')]);
    const err = await rpcError(svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'victim', layer: hostile.descriptor, diffId: hostile.layer.diffId })));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/parent "data\/out" is a symlink/);
    expect(await sentinel.snapshot()).toEqual(before);
    // Nothing of the layer kept: the snapshot's own layer is empty again, and a good layer applies.
    const usage = await svc.snapshots.usage(snapshots.GetSnapshotUsageRequest.fromPartial(keyReq('victim')));
    expect(usage.usage?.inodes).toBe(1);
    const good = await putLayer([dir('data'), file('data/fine.txt', 'fine\n')]);
    await svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'victim', layer: good.descriptor, diffId: good.layer.diffId }));
    const m = await svc.snapshots.mounts(snapshots.GetSnapshotMountsRequest.fromPartial(keyReq('victim')));
    await withMounted(m.mounts, (root) => {
      expect(readFileSync(join(root, 'data/fine.txt'), 'utf8')).toBe('fine\n');
      expect(existsSync(join(root, 'data/ok.txt'))).toBe(false);
      expect(readFileSync(join(root, 'data/keep.txt'), 'utf8')).toBe('keep\n');
    });
  });
});

describe('DiffSnapshot', () => {
  it('computes a container’s changes as a layer in the content store; applied again it reproduces them', async () => {
    const p = await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'container', parent: chainIds[2] }));
    const changed = await withMounted(p.mounts, async (root) => {
      writeFileSync(join(root, 'data/new-file.txt'), 'written by the container\n');
      writeFileSync(join(root, 'data/hello.txt'), 'changed by the container\n');
      unlinkSync(join(root, 'data/keep.txt'));
      rmSync(join(root, 'data/new-dir'), { recursive: true });
      mkdirSync(join(root, 'var/cache'), { recursive: true });
      writeFileSync(join(root, 'var/cache/blob'), Buffer.alloc(200_000, 3));
      return describeTree(root);
    });

    const diff = await svc.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: 'container', labels: { 'berth.io/by': 'test' } }));
    expect(diff.layer?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(diff.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const stored = await content.info(diff.layer!.digest);
    expect(stored).toMatchObject({ digest: diff.layer!.digest, size: diff.layer!.size });
    expect(stored?.labels['berth.io/by']).toBe('test');
    const readBack = await content.get(diff.layer!.digest);
    expect(sha256(readBack)).toBe(diff.layer!.digest);

    // Replay onto the same parent through ApplyLayer: the same tree.
    await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'replay', parent: chainIds[2] }));
    const applied = await svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'replay', layer: diff.layer, diffId: diff.diffId }));
    expect(applied.diffId).toBe(diff.diffId);
    const replayMounts = await svc.snapshots.mounts(snapshots.GetSnapshotMountsRequest.fromPartial(keyReq('replay')));
    const replayed = await withMounted(replayMounts.mounts, (root) => {
      expect(existsSync(join(root, 'data/keep.txt'))).toBe(false);
      expect(existsSync(join(root, 'data/new-dir'))).toBe(false);
      return describeTree(root);
    });
    expect(replayed).toEqual(changed);

    // zstd, and against another snapshot than the parent: the layer carries everything above chain id 0.
    const zstd = await svc.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: 'container', parent: chainIds[0], compression: LayerCompression.ZSTD }));
    expect(zstd.layer?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect((await content.get(zstd.layer!.digest)).subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    await svc.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'replay-from-base', parent: chainIds[0] }));
    await svc.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'replay-from-base', layer: zstd.layer, diffId: zstd.diffId }));
    const fromBase = await svc.snapshots.mounts(snapshots.GetSnapshotMountsRequest.fromPartial(keyReq('replay-from-base')));
    expect(await withMounted(fromBase.mounts, (root) => describeTree(root))).toEqual(changed);

    // Uncompressed: the blob is the tar itself, so its digest is the diff id.
    const plain = await svc.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: 'container', compression: LayerCompression.NONE }));
    expect(plain.layer?.digest).toBe(plain.diffId);
    expect(plain.diffId).toBe(diff.diffId);
    expect(readdirSync(join(suite.state.root, 'snapshots', 'diffs'))).toEqual([]);
  });

  it('refuses a view and an unknown snapshot', async () => {
    await svc.snapshots.view(snapshots.ViewSnapshotRequest.fromPartial({ key: 'diff-view', parent: chainIds[0] }));
    const view = await rpcError(svc.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: 'diff-view' })));
    expect(view.code).toBe(grpc.status.FAILED_PRECONDITION);
    const missing = await rpcError(svc.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: 'no-such' })));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    const missingParent = await rpcError(svc.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: chainIds[1], parent: 'no-such' })));
    expect(missingParent.code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('without the images service', () => {
  let state: StateRoot;
  let lonely: ServiceHandle;
  const nowhere = () => `unix:${join(state.runtimeDir, 'no-images-here.sock')}`;

  beforeAll(async () => {
    state = await makeStateRoot('snapnoimg');
    lonely = await startSnapshots({ state, natsUrl: suite.nats.url, extraArgs: ['--peers', `images=${join(state.runtimeDir, 'no-images-here.sock')}`] });
  });
  afterAll(async () => {
    await lonely?.stop();
    await state?.cleanup();
  });

  it('answers UNAVAILABLE naming the images service’s address, and keeps nothing', async () => {
    const l = image.layers[0]!;
    const unpack = await rpcError(lonely.layers.unpack(unpackReq([l])));
    expect(unpack.code).toBe(grpc.status.UNAVAILABLE);
    expect(unpack.details).toContain(`the images service at ${nowhere()} is unavailable`);
    await lonely.snapshots.prepare(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'target' }));
    const apply = await rpcError(lonely.layers.apply(snapshots.ApplyLayerRequest.fromPartial({ key: 'target', layer: layerDescriptor(l), diffId: l.diffId })));
    expect(apply.code).toBe(grpc.status.UNAVAILABLE);
    expect(apply.details).toContain(nowhere());
    const diff = await rpcError(lonely.layers.diff(snapshots.DiffSnapshotRequest.fromPartial({ key: 'target' })));
    expect(diff.code).toBe(grpc.status.UNAVAILABLE);
    expect(diff.details).toContain(nowhere());
    const names = (await lonely.snapshots.list(snapshots.ListSnapshotsRequest.fromPartial({}))).infos.map((i) => i.name);
    expect(names).toEqual(['target']);
  });
});

describe('a client that goes away (stand-in Content server whose reads never finish)', () => {
  let otherState: StateRoot;
  let other: ServiceHandle;
  let stalling: FakeContent;

  beforeAll(async () => {
    otherState = await makeStateRoot('snapcancel');
    stalling = await startFakeContent(join(otherState.runtimeDir, 'images.sock'));
    other = await startSnapshots({ state: otherState, natsUrl: suite.nats.url });
  });
  afterAll(async () => {
    await other?.stop();
    await stalling?.stop();
    await otherState?.cleanup();
  });

  it('a client that goes away mid-layer leaves nothing behind', async () => {
    const slow = makeLayer([dir('slow'), file('slow/data', randomBytes(512 * 1024))]);
    const digest = sha256(slow.gz);
    stalling.blobs.set(digest, slow.gz);
    stalling.stalled.add(digest);
    const namesBefore = await snapshotNames(other);
    const dirsBefore = snapshotDirs(otherState);
    const call = other.layers.unpackStream(unpackReq([{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: slow.gz.length, diffId: slow.diffId }]));
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      call.on('error', (err: grpc.ServiceError) => resolve(err));
      call.on('end', () => resolve(undefined));
    });
    await new Promise<void>((resolve) => call.once('data', () => resolve())); // EXTRACTING: the apply is under way
    await eventually('the extraction snapshot', async () => ((await snapshotNames(other)).some((n) => n.startsWith('extract-')) ? true : undefined));
    call.cancel();
    expect((await ended)?.code).toBe(grpc.status.CANCELLED);
    // the record goes first, then its directory
    await eventually('the extraction snapshot and its directory to go', async () =>
      (await snapshotNames(other)).length === namesBefore.length && snapshotDirs(otherState).length === dirsBefore.length ? true : undefined,
    );
    expect(await snapshotNames(other)).toEqual(namesBefore);
    expect(snapshotDirs(otherState)).toEqual(dirsBefore);
  });
});

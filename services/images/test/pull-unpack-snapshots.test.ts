// Pull and unpack end to end with real parts only: the test kit's registry,
// the images service (in-process, driven over gRPC) and the real snapshots
// service (a child process, overlayfs on this suite's state root), which
// reads the layers back through the images service's Content API. Each
// layer's progress goes waiting -> downloading -> verifying -> extracting ->
// done, done last; the snapshots are there afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, snapshots, types } from '@berth/api';
import { createClient } from '@berth/service-kit';
import { chainIds, type Digest } from '@berth/oci';
import { layeredImage, pushImage, startRegistry, type BuiltImage, type TestRegistry } from '@berth/testkit';
import { collect, recordEvents, rpc, startImagesService, type EventLog, type ImagesHarness } from './grpc-harness.js';
import { startSnapshotsProcess, type SnapshotsProcess } from './snapshots-process.js';

const { ProgressState } = types;

let reg: TestRegistry | undefined;
let layered: BuiltImage;
let svc: ImagesHarness | undefined;
let snaps: SnapshotsProcess | undefined;
let snapshotsClient: snapshots.SnapshotsClient | undefined;
let log: EventLog | undefined;

beforeAll(async () => {
  layered = await layeredImage();
  reg = await startRegistry({ auth: 'none' });
  await pushImage(layered.layoutDir, 'library/layered:v1', { registry: reg });
  svc = await startImagesService(); // unpacks by default, into overlayfs
  log = await recordEvents(await svc.connectObserver(), 'berth.*.events.images.pull.>');
  snaps = await startSnapshotsProcess({ root: svc.state.root, runtimeDir: svc.state.runtimeDir, natsUrl: svc.nats.url, node: 'grpc-test' });
  snapshotsClient = createClient(snapshots.SnapshotsClient, snaps.address);
});
afterAll(async () => {
  log?.stop();
  snapshotsClient?.close();
  await snaps?.stop(); // before the harness cleans the state root (and unmounts what is left under it)
  await svc?.stop();
  await reg?.stop();
});

const ref = () => `${reg!.host}/library/layered:v1`;
const pull = () => collect(svc!.clients.transfer.pullImage(images.PullImageRequest.fromPartial({ reference: ref(), unpack: true })));

/** Each layer's states in the order the stream reported them, repeats (byte-count updates) collapsed. */
function stateSequences(messages: images.PullImageResponse[]): Map<string, types.ProgressState[]> {
  const out = new Map<string, types.ProgressState[]>();
  for (const m of messages) {
    if (m.event?.$case !== 'progress') continue;
    for (const b of m.event.value.blobs) {
      const seq = out.get(b.digest) ?? [];
      if (seq.at(-1) !== b.state) seq.push(b.state);
      out.set(b.digest, seq);
    }
  }
  return out;
}

describe('pull with unpack into the real snapshots service', () => {
  it('reports waiting, downloading, verifying, extracting, done for every layer, done last, and records the image', async () => {
    const messages = await pull();
    const last = messages.at(-1)?.event;
    expect(last?.$case === 'image' && last.value.target?.digest).toBe(layered.manifestDigest);

    const sequences = stateSequences(messages);
    expect([...sequences.keys()].sort()).toEqual(layered.layers.map((l) => l.digest).sort());
    for (const l of layered.layers) {
      expect(sequences.get(l.digest), `states of layer ${l.digest}`).toEqual([
        ProgressState.WAITING,
        ProgressState.DOWNLOADING,
        ProgressState.VERIFYING,
        ProgressState.EXTRACTING,
        ProgressState.DONE,
      ]);
    }
    const finished = await log!.waitFor((e) => e.type === 'images.pull.finished' && e.payload.reference === ref());
    expect(finished.payload.unpacked).toBe(true);
  });

  it('leaves one committed snapshot per layer, named by chain id', async () => {
    for (const id of chainIds(layered.layers.map((l) => l.diffId as Digest))) {
      const res = await rpc<snapshots.StatSnapshotResponse>((cb) => snapshotsClient!.statSnapshot({ snapshotter: '', key: id }, cb));
      expect(res.info?.name).toBe(id);
      expect(res.info?.kind).toBe(snapshots.SnapshotKind.COMMITTED);
    }
  });

  it('pulling again fetches and extracts nothing: each layer exists, then is done', async () => {
    const messages = await pull();
    expect(messages.at(-1)?.event?.$case).toBe('image');
    const sequences = stateSequences(messages);
    for (const l of layered.layers) {
      expect(sequences.get(l.digest)).toEqual([ProgressState.WAITING, ProgressState.EXISTS, ProgressState.DONE]);
    }
  });
});

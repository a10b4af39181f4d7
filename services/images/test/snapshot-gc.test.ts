// Removing images reclaims their unpacked layer snapshots, end to end with
// real parts: the test kit's registry, the images service (in-process, over
// gRPC) and the real snapshots service (a child process, overlayfs on this
// suite's state root). Images A and B share a base layer (and C, pulled
// while A's delete runs, shares it too); what the images service did not
// unpack (a user's commit, a container's active snapshot) is never removed,
// and keeps what it sits on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, snapshots } from '@berth/api';
import { createClient } from '@berth/service-kit';
import { chainIds, type Digest } from '@berth/oci';
import { buildImage, pushImage, startRegistry, type BuiltImage, type LayerEntry, type TestRegistry } from '@berth/testkit';
import { collect, rpc, startImagesService, type ImagesHarness } from './grpc-harness.js';
import { startSnapshotsProcess, type SnapshotsProcess } from './snapshots-process.js';

const UNPACKED = 'berth.io/unpacked-by';

const base: LayerEntry[] = [{ type: 'file', path: '/base.txt', content: 'shared base\n' }];
const layer = (name: string): LayerEntry[] => [{ type: 'file', path: `/${name}.txt`, content: `${name}\n` }];

let layouts: string | undefined;
let reg: TestRegistry | undefined;
let svc: ImagesHarness | undefined;
let snaps: SnapshotsProcess | undefined;
let client: snapshots.SnapshotsClient | undefined;
const built = new Map<string, BuiltImage>();

beforeAll(async () => {
  layouts = mkdtempSync(join(tmpdir(), 'berth-images-snapshot-gc-'));
  const specs: Record<string, LayerEntry[][]> = {
    a: [base, layer('a1'), layer('a2')],
    b: [base, layer('b1')],
    c: [base, layer('c1'), layer('c2')],
  };
  reg = await startRegistry({ auth: 'none' });
  for (const [name, layers] of Object.entries(specs)) {
    const image = await buildImage({ layers, config: { cmd: ['/bin/sh'] } }, join(layouts, name));
    await pushImage(image.layoutDir, `library/gc-${name}:v1`, { registry: reg });
    built.set(name, image);
  }
  svc = await startImagesService({ logLevel: 'info' }); // unpacks by default, into overlayfs
  snaps = await startSnapshotsProcess({ root: svc.state.root, runtimeDir: svc.state.runtimeDir, natsUrl: svc.nats.url, node: 'grpc-test' });
  client = createClient(snapshots.SnapshotsClient, snaps.address);
});
afterAll(async () => {
  client?.close();
  await snaps?.stop(); // before the harness cleans the state root (and unmounts what is left under it)
  await svc?.stop();
  await reg?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});

const ref = (name: string) => `${reg!.host}/library/gc-${name}:v1`;
const chainsOf = (name: string): string[] => chainIds(built.get(name)!.layers.map((l) => l.diffId as Digest));

async function pull(name: string): Promise<void> {
  const messages = await collect(svc!.clients.transfer.pullImage(images.PullImageRequest.fromPartial({ reference: ref(name), unpack: true })));
  expect(messages.at(-1)?.event?.$case, `pull of ${name}`).toBe('image');
}

async function rmi(name: string): Promise<void> {
  const res = await rpc<images.DeleteImageResponse>((cb) => svc!.clients.images.deleteImage({ name: ref(name), sync: false }, cb));
  expect(res.image?.name).toBe(ref(name));
}

async function prune(): Promise<void> {
  await rpc<images.PruneContentResponse>((cb) => svc!.clients.content.pruneContent({ dryRun: false, staleIngestSeconds: 0 }, cb));
}

/** Every snapshot the snapshots service has, by name. */
async function listed(): Promise<Map<string, snapshots.SnapshotInfo>> {
  const res = await rpc<snapshots.ListSnapshotsResponse>((cb) => client!.listSnapshots({ snapshotter: '', filters: [] }, cb));
  return new Map(res.infos.map((i) => [i.name, i]));
}

/** The chain ids of `names`' images that are present, as committed snapshots. */
async function presentChains(...names: string[]): Promise<string[]> {
  const all = await listed();
  return names.flatMap(chainsOf).filter((id) => all.get(id)?.kind === snapshots.SnapshotKind.COMMITTED);
}

describe('snapshot GC after removing images', () => {
  it('labels what it unpacks, and deleting one of two images sharing a base removes only its own snapshots', async () => {
    await pull('a');
    await pull('b');
    const [baseChain, ...aOwn] = chainsOf('a');
    expect(chainsOf('b')[0]).toBe(baseChain); // the images really share their base snapshot
    const all = await listed();
    for (const id of [...chainsOf('a'), ...chainsOf('b')]) expect(all.get(id)?.labels[UNPACKED], `label of ${id}`).toBe('images');

    await rmi('a');
    const after = await listed();
    for (const id of aOwn) expect(after.has(id), `A's own snapshot ${id}`).toBe(false);
    for (const id of chainsOf('b')) expect(after.get(id)?.kind, `B's snapshot ${id}`).toBe(snapshots.SnapshotKind.COMMITTED);

    await rmi('b');
    expect(await presentChains('a', 'b')).toEqual([]);
    expect(svc!.logs.some((l) => l.includes('snapshot gc: removed unreferenced layer snapshots') && l.includes(chainsOf('b')[1]!))).toBe(true);
  });

  it('keeps a chain a container-like active snapshot sits on, and what it did not unpack; prune takes the chain once the container is gone', async () => {
    // A user's commit (no unpack label) without an image: never the GC's to remove.
    await rpc((cb) => client!.prepareSnapshot({ snapshotter: '', key: 'gc-test-user-work', parent: '', labels: {} }, cb));
    await rpc((cb) => client!.commitSnapshot({ snapshotter: '', name: 'gc-test-user-commit', key: 'gc-test-user-work', labels: {} }, cb));

    await pull('b');
    const top = chainsOf('b').at(-1)!;
    await rpc((cb) => client!.prepareSnapshot({ snapshotter: '', key: 'gc-test-container', parent: top, labels: {} }, cb));

    await rmi('b'); // no error although the snapshots service refuses to remove the chain under the container
    expect(await presentChains('b')).toEqual(chainsOf('b'));
    await prune(); // still under the container: stays, and prune does not fail
    expect(await presentChains('b')).toEqual(chainsOf('b'));

    await rpc((cb) => client!.removeSnapshot({ snapshotter: '', key: 'gc-test-container' }, cb));
    await prune();
    expect(await presentChains('b')).toEqual([]);
    expect((await listed()).get('gc-test-user-commit')?.kind).toBe(snapshots.SnapshotKind.COMMITTED);
    await prune(); // idempotent: nothing left to remove, nothing fails
    expect((await listed()).get('gc-test-user-commit')?.kind).toBe(snapshots.SnapshotKind.COMMITTED);
  });

  it('a pull running while a delete collects keeps every snapshot it unpacked, the shared base included', async () => {
    for (let round = 0; round < 3; round++) {
      await pull('a');
      // Deleting A leaves the base unreferenced by records while C's pull reuses it and unpacks on top;
      // prunes run back to back meanwhile, so passes land between C's layers and before its record exists.
      let pulling = true;
      const pulled = pull('c').finally(() => (pulling = false));
      const pruning = (async () => {
        while (pulling) await prune();
      })();
      await Promise.all([rmi('a'), pulled, pruning]);
      expect(await presentChains('c'), `round ${round}`).toEqual(chainsOf('c'));
      expect(await presentChains('a'), `round ${round}`).toEqual([chainsOf('a')[0]]); // only the base, which C uses
      await rmi('c');
      expect(await presentChains('a', 'c'), `round ${round}`).toEqual([]);
    }
  });
});

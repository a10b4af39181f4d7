import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/gc.js';
import { pull } from '../src/pull.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildIndex, buildTestImage, type TestImage } from './fixtures.js';
import { blobFiles, openTestCore, sha256, type TestCore } from './helpers.js';

let reg: FakeRegistry;
let core: TestCore;

beforeEach(async () => {
  reg = await startFakeRegistry();
  core = openTestCore();
});
afterEach(async () => {
  core.close();
  await reg.close();
});

function imageDigests(image: TestImage): string[] {
  return [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)].sort();
}

describe('garbage collection', () => {
  it('keeps everything reachable from images (index -> manifest -> config + layers) and removes the rest', async () => {
    const amd = await buildTestImage({ seed: 'amd' });
    const index = buildIndex([{ image: amd, platform: { os: 'linux', architecture: 'amd64' } }]);
    reg.addManifest('app', 'v1', index);
    for (const [d, b] of amd.blobs) reg.blobs.set(d, b);
    reg.manifests.set(`app:${amd.manifest.digest}`, { mediaType: amd.manifest.mediaType, bytes: amd.manifest.bytes });
    await pull(core, `${reg.host}/app:v1`, { namespace: 'ns1', platform: 'linux/amd64' });
    const garbage = await core.content.writeBytes('junk', Buffer.from('unreferenced'));

    const dry = collectGarbage(core, { dryRun: true });
    expect(dry.removed.map((r) => r.digest)).toEqual([garbage.digest]);
    expect(core.content.has(garbage.digest)).toBe(true);

    const result = collectGarbage(core);
    expect(result.removed).toEqual([{ digest: garbage.digest, size: garbage.size }]);
    expect(result.bytes).toBe(garbage.size);
    expect(blobFiles(core)).toEqual([index.digest, ...imageDigests(amd)].sort());

    // Deleting the image record makes its content collectable.
    core.images.delete('ns1', `${reg.host}/app:v1`);
    const after = collectGarbage(core);
    expect(after.removed.map((r) => r.digest).sort()).toEqual([index.digest, ...imageDigests(amd)].sort());
    expect(blobFiles(core)).toEqual([]);
  });

  it('keeps leased content until the lease expires or is deleted, and content an ingest is about to commit', async () => {
    const blob = await core.content.writeBytes('leased', Buffer.from('leased content'));
    const lease = core.leases.create({ ttlMs: 60_000 });
    core.leases.addResource(lease.id, { kind: 'content', id: blob.digest });
    expect(collectGarbage(core).removed).toEqual([]);
    core.leases.delete(lease.id);

    const short = core.leases.create({ ttlMs: 1 });
    core.leases.addResource(short.id, { kind: 'content', id: blob.digest });
    await new Promise((r) => setTimeout(r, 5));
    const result = collectGarbage(core);
    expect(result.expiredLeases).toEqual([short.id]);
    expect(result.removed.map((r) => r.digest)).toEqual([blob.digest]);

    // An ingest expecting a digest protects a blob of that digest already committed by another writer.
    const bytes = Buffer.from('being written twice');
    const d = sha256(bytes);
    await core.content.writeBytes('first', bytes);
    const w = await core.content.writer('second', { expected: d, total: bytes.length });
    await w.write(bytes.subarray(0, 3));
    expect(collectGarbage(core).removed).toEqual([]);
    await w.abort();
    expect(collectGarbage(core).removed.map((r) => r.digest)).toEqual([d]);
  });

  it('never deletes what a concurrent pull is using', async () => {
    const old = await buildTestImage({ seed: 'old' });
    reg.addImage('app', 'old', old);
    await pull(core, `${reg.host}/app:old`, { namespace: 'default' });
    const fresh = await buildTestImage({ seed: 'fresh' });
    reg.addImage('app', 'fresh', fresh);
    const garbage = await core.content.writeBytes('junk', Buffer.from('unreferenced'));

    // Hold the second layer half-way until a GC has run in the middle of the pull.
    const slow = fresh.layers[1]!;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let midway!: () => void;
    const reachedMidway = new Promise<void>((r) => (midway = r));
    reg.hook = async (req, res, r) => {
      if (r.kind !== 'blob' || r.ref !== slow.digest) return false;
      res.writeHead(200, { 'content-length': slow.size });
      res.write(slow.bytes.subarray(0, 1000));
      midway();
      await released;
      res.end(slow.bytes.subarray(1000));
      return true;
    };

    const removed: string[] = [];
    let collecting = true;
    const background = (async () => {
      while (collecting) {
        for (const r of collectGarbage(core).removed) removed.push(r.digest);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const pulling = pull(core, `${reg.host}/app:fresh`, { namespace: 'default' });
    await reachedMidway;
    // A collection at a known point: manifest, config and the first layer are in, the second is ingesting.
    for (const r of collectGarbage(core).removed) removed.push(r.digest);
    expect(core.content.has(fresh.manifest.digest)).toBe(true);
    expect(core.content.has(fresh.config.digest)).toBe(true);
    release();
    const result = await pulling;
    collecting = false;
    await background;

    expect(result.target.digest).toBe(fresh.manifest.digest);
    for (const d of [...imageDigests(fresh), ...imageDigests(old)]) expect(core.content.has(d as `sha256:${string}`)).toBe(true);
    expect(removed).toEqual([garbage.digest]);
    expect(collectGarbage(core).removed).toEqual([]);
  });
});

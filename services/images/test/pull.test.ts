// Pull orchestration against a fake registry: platform selection, progress
// states, unpack hook, events, leases, cancellation (the concurrency bound is
// in concurrency.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pull, SOURCE_LABEL_PREFIX } from '../src/pull.js';
import type { PullProgress } from '../src/progress.js';
import type { ImagesEvent } from '../src/events.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildIndex, buildTestImage, type TestImage } from './fixtures.js';
import { blobFiles, openTestCore, type TestCore, rejection } from './helpers.js';

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

async function addMulti(): Promise<{ amd: TestImage; arm: TestImage; digest: string }> {
  const amd = await buildTestImage({ seed: 'amd', arch: 'amd64' });
  const arm = await buildTestImage({ seed: 'arm', arch: 'arm64' });
  const index = buildIndex([
    { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
  ]);
  reg.addManifest('multi', 'v1', index);
  for (const img of [amd, arm]) {
    for (const [d, b] of img.blobs) reg.blobs.set(d, b);
    reg.manifests.set(`multi:${img.manifest.digest}`, { mediaType: img.manifest.mediaType, bytes: img.manifest.bytes });
  }
  return { amd, arm, digest: index.digest };
}

describe('pull', () => {
  it('picks the requested platform from an index, records the index as the target, fetches nothing else', async () => {
    const { amd, arm, digest } = await addMulti();
    const result = await pull(core, `${reg.host}/multi:v1`, { namespace: 'default', platform: 'linux/arm64' });
    expect(result.target.digest).toBe(digest);
    expect(result.manifest.digest).toBe(arm.manifest.digest);
    expect(result.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(core.images.get('default', `${reg.host}/multi:v1`).target.digest).toBe(digest);
    for (const l of amd.layers) expect(core.content.has(l.digest)).toBe(false);
    expect(core.content.info(arm.layers[0]!.digest).labels[SOURCE_LABEL_PREFIX + reg.host]).toBe('multi');

    const host = await pull(core, `${reg.host}/multi:v1`, { namespace: 'host' });
    expect(host.manifest.digest).toBe(process.arch === 'arm64' ? arm.manifest.digest : amd.manifest.digest);
  });

  it('reports per-layer progress waiting, downloading, verifying, extracting, done (done last) with an unpacker, exists when stored', async () => {
    const image = await buildTestImage({ seed: 'progress' });
    reg.addImage('app', 'v1', image);
    const seen: PullProgress[] = [];
    const events: ImagesEvent[] = [];
    const unpacked: string[] = [];
    await pull(core, `${reg.host}/app:v1`, {
      namespace: 'default',
      onProgress: (p) => seen.push(p),
      events: (e) => events.push(e),
      progressIntervalMs: 0,
      unpack: async (req) => {
        expect(req.config.rootfs.diff_ids).toHaveLength(image.layers.length);
        for (const l of req.layers) {
          req.onLayer(l.digest, 'extracting');
          unpacked.push(l.digest);
          req.onLayer(l.digest, 'done');
        }
      },
    });
    expect(unpacked).toEqual(image.layers.map((l) => l.digest));
    const big = image.layers[1]!;
    const states = seen.map((p) => p.layers.find((l) => l.digest === big.digest)?.state).filter(Boolean);
    const order = [...new Set(states)];
    expect(order).toEqual(['waiting', 'downloading', 'verifying', 'extracting', 'done']);
    expect(states.at(-1)).toBe('done');
    const bytes = seen.map((p) => p.layers.find((l) => l.digest === big.digest)?.current ?? 0);
    expect(bytes.some((b) => b > 0 && b < big.size)).toBe(true);
    expect(seen.at(-1)!.layers.find((l) => l.digest === big.digest)!.id).toBe(big.digest.slice(7, 19));
    expect(events.map((e) => e.type)).toEqual(['images.pull.started', 'images.pull.finished']);
    expect(core.events.map((e) => e.type)).toEqual(['images.created']);

    const again: PullProgress[] = [];
    await pull(core, `${reg.host}/app:v1`, { namespace: 'default', onProgress: (p) => again.push(p) });
    expect(again.at(-1)!.layers.map((l) => l.state)).toEqual(image.layers.map(() => 'exists'));
    expect(core.events.map((e) => e.type)).toEqual(['images.created', 'images.updated']);
    expect(core.leases.list()).toEqual([]);
  });

  it('a cancelled pull stops, records nothing and keeps its ingest and lease for a later resume', async () => {
    const image = await buildTestImage({ seed: 'cancel' });
    reg.addImage('app', 'v1', image);
    const big = image.layers[1]!;
    const controller = new AbortController();
    reg.hook = (req, res, r) => {
      if (r.kind !== 'blob' || r.ref !== big.digest) return false;
      res.writeHead(200, { 'content-length': big.size });
      res.write(big.bytes.subarray(0, 50_000), () => setTimeout(() => controller.abort(new Error('user cancelled')), 50));
      return true;
    };
    const events: ImagesEvent[] = [];
    const err = await rejection(pull(core, `${reg.host}/app:v1`, { namespace: 'default', signal: controller.signal, events: (e) => events.push(e) }));
    expect(err.message).toBe('user cancelled');
    expect(core.images.list('default')).toEqual([]);
    expect(core.content.has(big.digest)).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['images.pull.started', 'images.pull.failed']);
    expect(core.leases.list()).toHaveLength(1);
    expect((await core.content.statuses()).map((s) => s.expected)).toEqual([big.digest]);
    expect(blobFiles(core)).not.toContain(big.digest);
  });
});

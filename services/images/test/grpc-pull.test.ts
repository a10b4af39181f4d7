// Pull, inspect, tag, delete, push and prune through the gRPC API of the real
// images service, against the test kit's real registry, with the events the
// service publishes on NATS seen by a second connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images, types } from '@berth/api';
import type { Bus } from '@berth/bus';
import { chainId } from '@berth/oci';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildIndex,
  busyboxImage,
  hostPlatform,
  layeredImage,
  pushImage,
  startRegistry,
  type BuiltImage,
  type BuiltIndex,
  type TestRegistry,
} from '@berth/testkit';
import { collect, grpcError, ns, recordEvents, rpc, startImagesService, type EventLog, type ImagesHarness } from './grpc-harness.js';

let svc: ImagesHarness;
let reg: TestRegistry;
let busybox: BuiltImage;
let layered: BuiltImage;
let multi: BuiltIndex;
let multiDir: string;
let observer: Bus;
let log: EventLog;

beforeAll(async () => {
  [busybox, layered] = await Promise.all([busyboxImage(), layeredImage()]);
  reg = await startRegistry({ auth: 'none' });
  await pushImage(busybox.layoutDir, 'library/busybox:latest', { registry: reg });
  await pushImage(layered.layoutDir, 'library/layered:v1', { registry: reg });
  multiDir = mkdtempSync(join(tmpdir(), 'berth-images-multi-'));
  multi = await buildIndex(
    ['linux/amd64', 'linux/arm64'].map((platform) => ({
      layers: [[{ type: 'file' as const, path: '/etc/arch', content: `${platform}\n` }]],
      config: { cmd: ['sh'] },
      platform,
    })),
    multiDir,
  );
  await pushImage(multiDir, 'library/multi:v1', { registry: reg });
  svc = await startImagesService();
  observer = await svc.connectObserver();
  log = await recordEvents(observer, 'berth.*.events.images.>');
});

afterAll(async () => {
  log?.stop();
  await svc?.stop();
  await reg?.stop();
  if (multiDir) rmSync(multiDir, { recursive: true, force: true });
});

function pull(reference: string, opts: Partial<images.PullImageRequest> = {}, metadata = new grpc.Metadata()) {
  return collect(
    svc.clients.transfer.pullImage(images.PullImageRequest.fromPartial({ reference, unpack: false, ...opts }), metadata),
  );
}

const getImage = (name: string, metadata = new grpc.Metadata()) =>
  rpc<images.GetImageResponse>((cb) => svc.clients.images.getImage({ name }, metadata, cb));
const listImages = (filters: string[] = [], metadata = new grpc.Metadata()) =>
  rpc<images.ListImagesResponse>((cb) => svc.clients.images.listImages({ filters }, metadata, cb)).then((r) => r.images);
const inspect = (name: string) =>
  rpc<images.InspectImageResponse>((cb) => svc.clients.images.inspectImage(images.InspectImageRequest.fromPartial({ name }), cb));
const listContent = () =>
  rpc<images.ListContentResponse>((cb) => svc.clients.content.listContent({ filters: [] }, cb)).then((r) => r.infos.map((i) => i.digest));
const prune = () => rpc<images.PruneContentResponse>((cb) => svc.clients.content.pruneContent({ dryRun: false, staleIngestSeconds: 0 }, cb));

describe('Transfer.PullImage', () => {
  it('streams resolved, per-layer progress and the image, then lists, gets and inspects it', async () => {
    const ref = `${reg.host}/library/layered:v1`;
    const messages = await pull(ref);

    const kinds = messages.map((m) => m.event?.$case);
    expect(kinds[0]).toBe('resolved');
    expect(kinds.at(-1)).toBe('image');
    expect(kinds.slice(1, -1).every((k) => k === 'progress')).toBe(true);
    expect(kinds.filter((k) => k === 'resolved' || k === 'image')).toHaveLength(2);

    const resolved = messages[0]!.event as { $case: 'resolved'; value: images.PullResolved };
    expect(resolved.value.name).toBe(ref);
    expect(resolved.value.target?.digest).toBe(layered.manifestDigest);
    expect(resolved.value.manifest?.digest).toBe(layered.manifestDigest);
    expect(resolved.value.layers.map((l) => l.digest)).toEqual(layered.layers.map((l) => l.digest));

    // Every layer ends DONE with all its bytes, and only layers of the image are reported.
    const last = new Map<string, types.BlobProgress>();
    for (const m of messages) if (m.event?.$case === 'progress') for (const b of m.event.value.blobs) last.set(b.digest, b);
    expect([...last.keys()].sort()).toEqual(layered.layers.map((l) => l.digest).sort());
    for (const l of layered.layers) {
      expect(last.get(l.digest)).toMatchObject({ state: types.ProgressState.DONE, current: l.size, total: l.size, id: l.digest.slice(7, 19) });
    }

    const image = (messages.at(-1)!.event as { $case: 'image'; value: images.Image }).value;
    expect(image).toMatchObject({ name: ref, target: { digest: layered.manifestDigest, mediaType: layered.manifestMediaType, size: layered.manifestSize } });
    expect(image.createdAt?.seconds).toBeGreaterThan(0);

    const listed = await listImages();
    expect(listed.map((i) => i.name)).toContain(ref);
    expect((await getImage(ref)).image).toEqual(image);

    const info = await inspect(ref);
    expect(info.image?.name).toBe(ref);
    expect(info.manifest?.digest).toBe(layered.manifestDigest);
    expect(info.config?.digest).toBe(layered.configDigest);
    const config = JSON.parse(info.configJson.toString('utf8')) as { rootfs: { diff_ids: string[] }; architecture: string; os: string };
    expect(config.rootfs.diff_ids).toEqual(layered.layers.map((l) => l.diffId));
    expect(info.layers.map((l) => l.digest)).toEqual(layered.layers.map((l) => l.digest));
    expect(info.diffIds).toEqual(layered.layers.map((l) => l.diffId));
    expect(info.chainId).toBe(chainId(layered.layers.map((l) => l.diffId)));
    expect(info.platforms).toEqual([
      types.Platform.fromPartial({ os: config.os, architecture: config.architecture, variant: info.platforms[0]?.variant ?? '' }),
    ]);
    const configSize = info.config?.size ?? 0;
    expect(info.contentSize).toBe(layered.manifestSize + configSize + layered.layers.reduce((n, l) => n + l.size, 0));

    // A single-manifest image answers for its own platform when one is named, and refuses another, naming both.
    const own = types.Platform.fromPartial({ os: config.os, architecture: config.architecture });
    const named = await rpc<images.InspectImageResponse>((cb) => svc.clients.images.inspectImage({ name: ref, platform: own }, cb));
    expect(named.manifest?.digest).toBe(layered.manifestDigest);
    const other = types.Platform.fromPartial({ os: 'linux', architecture: config.architecture === 'arm64' ? 'amd64' : 'arm64' });
    const err = await grpcError(rpc((cb) => svc.clients.images.inspectImage({ name: ref, platform: other }, cb)));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(new RegExp(`^image ${ref} is for linux/${config.architecture}(/v\\d)?, not linux/${other.architecture}(/v\\d)?$`));
  });

  it('pulls by digest, reporting layers already present as such', async () => {
    await pull(`${reg.host}/library/busybox:latest`);
    const ref = `${reg.host}/library/busybox@${busybox.manifestDigest}`;
    const messages = await pull(ref);
    const image = (messages.at(-1)!.event as { $case: 'image'; value: images.Image }).value;
    expect(image.name).toBe(ref);
    expect(image.target?.digest).toBe(busybox.manifestDigest);
    const states = messages.flatMap((m) => (m.event?.$case === 'progress' ? m.event.value.blobs.map((b) => b.state) : []));
    expect(states).toContain(types.ProgressState.EXISTS);
    expect(states).not.toContain(types.ProgressState.DOWNLOADING);
  });

  it('publishes pull started/finished and image created on NATS, with payloads from the events proto', async () => {
    const ref = `${reg.host}/library/busybox:latest`;
    const finished = await log.waitFor((e) => e.type === 'images.pull.finished' && e.payload.reference === ref);
    expect(finished).toMatchObject({ namespace: 'default', node: 'grpc-test', source: 'images' });
    expect(finished.payload).toMatchObject({ reference: ref, name: ref, target: { digest: busybox.manifestDigest } });
    expect(finished.payload.unpacked ?? false).toBe(false); // proto3 JSON leaves false out
    expect(Number(finished.payload.fetchedBytes)).toBeGreaterThan(0);
    const started = await log.waitFor((e) => e.type === 'images.pull.started' && e.payload.reference === ref);
    expect(started.payload.platform).toMatchObject({ os: 'linux' });
    const created = await log.waitFor((e) => e.type === 'images.created' && e.payload.name === ref);
    expect(created.payload).toMatchObject({ target: { digest: busybox.manifestDigest } });
  });

  it('keeps namespaces apart', async () => {
    const ref = `${reg.host}/library/busybox:latest`;
    await pull(ref, {}, ns('team-a'));
    expect((await listImages([], ns('team-a'))).map((i) => i.name)).toEqual([ref]);
    const err = await grpcError(getImage(`${reg.host}/library/layered:v1`, ns('team-a')));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    const event = await log.waitFor((e) => e.type === 'images.created' && e.namespace === 'team-a');
    expect(event.payload.name).toBe(ref);
    const bad = await grpcError(listImages([], ns('bad.namespace')));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain('bad.namespace');
  });
});

describe('multi-platform images', () => {
  it('pulls one platform of an index; InspectImage resolves that platform and names the others', async () => {
    const ref = `${reg.host}/library/multi:v1`;
    const other = multi.images.find((i) => i.platform.architecture !== hostPlatform().architecture)!;
    const want = types.Platform.fromPartial({ os: other.platform.os, architecture: other.platform.architecture, variant: other.platform.variant ?? '' });
    const messages = await pull(ref, { platform: want });
    const resolved = messages[0]?.event;
    expect(resolved?.$case === 'resolved' && resolved.value).toMatchObject({ target: { digest: multi.indexDigest }, manifest: { digest: other.manifestDigest } });

    const info = await rpc<images.InspectImageResponse>((cb) => svc.clients.images.inspectImage({ name: ref, platform: want }, cb));
    expect(info.image?.target?.digest).toBe(multi.indexDigest);
    expect(info.manifest?.digest).toBe(other.manifestDigest);
    expect(info.config?.digest).toBe(other.configDigest);
    expect(info.platforms.map((p) => `${p.os}/${p.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);

    // The host's platform was not pulled: a clear precondition failure, not a wrong answer.
    const err = await grpcError(rpc((cb) => svc.clients.images.inspectImage(images.InspectImageRequest.fromPartial({ name: ref }), cb)));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain('not in the local store');
  });
});

describe('Images', () => {
  it('filters the list by name (exact, short form and glob), digest and label', async () => {
    const bb = `${reg.host}/library/busybox:latest`;
    await rpc((cb) =>
      svc.clients.images.updateImage(
        images.UpdateImageRequest.fromPartial({ image: { name: bb, labels: { tier: 'base' } }, updateMask: ['labels.tier'] }),
        cb,
      ),
    );
    expect((await listImages([`name=${bb}`])).map((i) => i.name)).toEqual([bb]);
    expect((await listImages([`name=${reg.host}/library/*`])).map((i) => i.name)).toContain(`${reg.host}/library/layered:v1`);
    expect((await listImages([`digest=${busybox.manifestDigest}`])).map((i) => i.name).sort()).toEqual(
      [bb, `${reg.host}/library/busybox@${busybox.manifestDigest}`].sort(),
    );
    expect((await listImages(['label=tier=base'])).map((i) => i.name)).toEqual([bb]);
    expect((await listImages(['label=tier', `name=${reg.host}/library/layered:v1`])).map((i) => i.name)).toEqual([]);
    const err = await grpcError(listImages(['colour=blue']));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('unknown key "colour"');
  });

  it('tags, finds short names, deletes (event on NATS) and prunes what only the deleted image held', async () => {
    const source = `${reg.host}/library/layered:v1`;
    const tagged = await rpc<images.TagImageResponse>((cb) =>
      svc.clients.images.tagImage({ source, target: 'example.org/copies/layered:v2', force: false }, cb),
    );
    expect(tagged.image).toMatchObject({ name: 'example.org/copies/layered:v2', target: { digest: layered.manifestDigest } });
    const again = await grpcError(rpc((cb) => svc.clients.images.tagImage({ source, target: 'example.org/copies/layered:v2', force: false }, cb)));
    expect(again.code).toBe(grpc.status.ALREADY_EXISTS);

    // Short forms are normalised: "alpine-copy" is docker.io/library/alpine-copy:latest.
    await rpc((cb) => svc.clients.images.tagImage({ source, target: 'alpine-copy', force: false }, cb));
    expect((await getImage('alpine-copy')).image?.name).toBe('docker.io/library/alpine-copy:latest');

    for (const name of [source, 'example.org/copies/layered:v2', 'alpine-copy']) {
      const deleted = await rpc<images.DeleteImageResponse>((cb) => svc.clients.images.deleteImage({ name, sync: false }, cb));
      expect(deleted.image?.target?.digest).toBe(layered.manifestDigest);
    }
    const event = await log.waitFor((e) => e.type === 'images.deleted' && e.payload.name === source);
    expect(event.payload).toEqual({ name: source, targetDigest: layered.manifestDigest });
    expect((await grpcError(getImage(source))).code).toBe(grpc.status.NOT_FOUND);

    // Blobs only the layered image held go; busybox's stay.
    expect(await listContent()).toContain(layered.layers[0]!.digest);
    const pruned = await prune();
    const removed = pruned.removed.map((d) => d.digest);
    expect(removed).toEqual(expect.arrayContaining([layered.manifestDigest, layered.configDigest, ...layered.layers.map((l) => l.digest)]));
    expect(removed).not.toContain(busybox.manifestDigest);
    expect(pruned.reclaimedBytes).toBe(pruned.removed.reduce((n, d) => n + d.size, 0));
    const left = await listContent();
    for (const l of layered.layers) expect(left).not.toContain(l.digest);
    for (const l of busybox.layers) expect(left).toContain(l.digest);
  });

  it('creates and updates records with validated descriptors', async () => {
    const target = types.Descriptor.fromPartial({ mediaType: busybox.manifestMediaType, digest: busybox.manifestDigest, size: busybox.manifestSize });
    const created = await rpc<images.CreateImageResponse>((cb) =>
      svc.clients.images.createImage({ image: images.Image.fromPartial({ name: 'made/by-hand', target, labels: { a: '1' } }) }, cb),
    );
    expect(created.image).toMatchObject({ name: 'docker.io/made/by-hand:latest', labels: { a: '1' } });
    const updated = await rpc<images.UpdateImageResponse>((cb) =>
      svc.clients.images.updateImage(
        images.UpdateImageRequest.fromPartial({ image: { name: 'made/by-hand', labels: { b: '2' } }, updateMask: ['labels.a', 'labels.b'] }),
        cb,
      ),
    );
    expect(updated.image?.labels).toEqual({ b: '2' });
    const bad = await grpcError(
      rpc((cb) =>
        svc.clients.images.createImage(
          { image: images.Image.fromPartial({ name: 'made/bad', target: { ...target, digest: 'sha256:nothex' } }) },
          cb,
        ),
      ),
    );
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain('sha256:nothex');
  });
});

describe('Transfer.PushImage', () => {
  it('pushes an image to another repository byte-identically, reporting each blob', async () => {
    const messages = await collect(
      svc.clients.transfer.pushImage(
        images.PushImageRequest.fromPartial({ name: `${reg.host}/library/busybox:latest`, reference: `${reg.host}/copies/busybox:pushed` }),
      ),
    );
    const result = messages.at(-1)?.event;
    expect(result?.$case).toBe('result');
    expect(result?.$case === 'result' && result.value).toMatchObject({
      reference: `${reg.host}/copies/busybox:pushed`,
      target: { digest: busybox.manifestDigest },
    });
    const blobs = messages.flatMap((m) => (m.event?.$case === 'progress' ? m.event.value.blobs : []));
    expect(blobs.map((b) => b.digest).sort()).toEqual([busybox.configDigest, ...busybox.layers.map((l) => l.digest)].sort());
    expect(blobs.every((b) => [types.ProgressState.MOUNTED, types.ProgressState.DONE, types.ProgressState.EXISTS].includes(b.state))).toBe(true);

    // What the registry now holds pulls back to the same digest.
    const back = await pull(`${reg.host}/copies/busybox:pushed`);
    const image = back.at(-1)?.event;
    expect(image?.$case === 'image' && image.value.target?.digest).toBe(busybox.manifestDigest);
  });
});

describe('bad input over gRPC', () => {
  it('an unparseable reference is INVALID_ARGUMENT saying what is wrong, and records nothing', async () => {
    const before = await listImages();
    const err = await grpcError(pull('Not A//Valid::Reference'));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/Not A\/\/Valid::Reference/);
    expect(await listImages()).toEqual(before);
  });

  it('an unknown image is NOT_FOUND naming the reference as resolved', async () => {
    const err = await grpcError(getImage('no-such-image'));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe('image docker.io/library/no-such-image:latest (from "no-such-image") not found in namespace default');
    expect((await grpcError(inspect('no-such-image'))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(rpc((cb) => svc.clients.images.deleteImage({ name: 'no-such-image', sync: false }, cb)))).code).toBe(
      grpc.status.NOT_FOUND,
    );
  });

  it('a tag the registry does not have is NOT_FOUND, with nothing recorded', async () => {
    const ref = `${reg.host}/library/busybox:missing`;
    const err = await grpcError(pull(ref));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain('404');
    expect((await grpcError(getImage(ref))).code).toBe(grpc.status.NOT_FOUND);
    const failed = await log.waitFor((e) => e.type === 'images.pull.failed' && e.payload.reference === ref);
    expect(String(failed.payload.error)).toContain('404');
  });

  it('a platform the index does not list is NOT_FOUND naming the platforms it lists', async () => {
    const err = await grpcError(pull(`${reg.host}/library/multi:v1`, { platform: types.Platform.fromPartial({ os: 'linux', architecture: 's390x' }) }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain('linux/s390x');
    expect(err.details).toContain('linux/amd64');
    expect(err.details).toContain('linux/arm64');
  });

  it('unpack:true while the snapshots service is down is UNAVAILABLE naming its socket; the content stays for a retry', async () => {
    const ref = `${reg.host}/library/layered:v1`; // pruned above: fetched afresh
    const err = await grpcError(pull(ref, { unpack: true }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain(`${svc.state.runtimeDir}/snapshots.sock`);
    expect(err.details).toContain('snapshots service');
    expect((await grpcError(getImage(ref))).code).toBe(grpc.status.NOT_FOUND);
    const content = await listContent();
    for (const l of layered.layers) expect(content).toContain(l.digest);
    // The pull's lease keeps that content through a prune.
    await prune();
    const kept = await listContent();
    for (const l of layered.layers) expect(kept).toContain(l.digest);
    const leases = await rpc<images.ListLeasesResponse>((cb) => svc.clients.leases.listLeases({ filters: [] }, cb));
    expect(leases.leases.some((l) => l.labels['berth.io/pull'] === ref)).toBe(true);
  });
});

describe('images.updated on NATS', () => {
  it('a pull whose tag moved to another image updates the record and says so, with the new target', async () => {
    const ref = `${reg.host}/library/moving:1`;
    await pushImage(busybox.layoutDir, 'library/moving:1', { registry: reg });
    await pull(ref);
    const created = await log.waitFor((e) => e.type === 'images.created' && e.payload.name === ref);
    expect(created.payload).toMatchObject({ target: { digest: busybox.manifestDigest } });

    await pushImage(layered.layoutDir, 'library/moving:1', { registry: reg });
    await pull(ref);
    const updated = await log.waitFor((e) => e.type === 'images.updated' && e.payload.name === ref);
    expect(updated).toMatchObject({ namespace: 'default', node: 'grpc-test', source: 'images' });
    expect(updated.payload).toMatchObject({ name: ref, target: { digest: layered.manifestDigest, mediaType: layered.manifestMediaType } });
    expect((await getImage(ref)).image?.target?.digest).toBe(layered.manifestDigest);
  });

  it('UpdateImage publishes the record as it now is, labels included', async () => {
    const ref = `${reg.host}/library/moving:1`;
    await rpc((cb) =>
      svc.clients.images.updateImage(
        images.UpdateImageRequest.fromPartial({ image: { name: ref, labels: { stage: 'tested' } }, updateMask: ['labels.stage'] }),
        ns('default'),
        cb,
      ),
    );
    const updated = await log.waitFor(
      (e) => e.type === 'images.updated' && e.payload.name === ref && (e.payload.labels as Record<string, string> | undefined)?.stage === 'tested',
    );
    expect(updated.payload).toEqual({
      name: ref,
      target: expect.objectContaining({ digest: layered.manifestDigest }) as unknown,
      labels: { stage: 'tested' },
    });
  });
});

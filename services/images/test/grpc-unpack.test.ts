// The unpack step of a pull (and an import) over gRPC, with the snapshots
// service's Layers API played by a small stand-in on the socket the images
// service dials, because these cases need a neighbour that can be observed
// (the request it got) or made to misbehave (a wrong chain id, UNIMPLEMENTED,
// not running yet). It reads each layer back through the images service's
// own Content API, checks it against its diff_id and reports per-layer
// progress and the chain ids, as the real one does; the real snapshots
// service is exercised end to end in pull-unpack-snapshots.test.ts. The
// images service itself is the real one, driven only over gRPC.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images, snapshots, types, withUnimplemented } from '@berth/api';
import { chainIds } from '@berth/oci';
import { layeredImage, pushImage, skopeo, startRegistry, withSkopeoSource, type BuiltImage, type TestRegistry } from '@berth/testkit';
import { collect, grpcError, recordEvents, rpc, startImagesService, type EventLog, type ImagesHarness } from './grpc-harness.js';

type Behaviour = 'unpack' | 'wrong-chain' | 'unimplemented';

interface StandIn {
  requests: snapshots.UnpackImageRequest[];
  behaviour: Behaviour;
  stop(): Promise<void>;
}

/** A Layers server on `socket` that unpacks by reading content through `content`. */
async function startSnapshotsStandIn(socket: string, content: images.ContentClient): Promise<StandIn> {
  const self: StandIn = { requests: [], behaviour: 'unpack', stop: async () => undefined };
  const read = (digest: string) =>
    collect(content.readContent({ digest, offset: 0, size: 0 })).then((chunks) => Buffer.concat(chunks.map((c) => c.data)));
  const unpackImage: grpc.handleServerStreamingCall<snapshots.UnpackImageRequest, snapshots.UnpackImageResponse> = (call) => {
    const req = call.request;
    self.requests.push(req);
    void (async () => {
      if (self.behaviour === 'unimplemented') {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'berth.snapshots.v1.Layers.UnpackImage is not supported by this (older) snapshots service' });
        return;
      }
      for (const [i, layer] of req.layers.entries()) {
        const progress = (state: types.ProgressState) =>
          call.write(
            snapshots.UnpackImageResponse.fromPartial({
              event: { $case: 'progress', value: { id: layer.digest.slice(7, 19), digest: layer.digest, state, current: 0, total: layer.size } },
            }),
          );
        progress(types.ProgressState.EXTRACTING);
        const blob = await read(layer.digest);
        const tar = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob; // imported docker-archive layers are plain tars
        const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
        if (diffId !== req.diffIds[i]) {
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `layer ${layer.digest} is ${diffId}, not ${req.diffIds[i]}` });
          return;
        }
        progress(types.ProgressState.DONE);
      }
      const chain = chainIds(req.diffIds);
      if (self.behaviour === 'wrong-chain') chain.reverse();
      call.write(snapshots.UnpackImageResponse.fromPartial({ event: { $case: 'result', value: { chainIds: chain, appliedLayers: chain.length } } }));
      call.end();
    })().catch((err: unknown) => call.emit('error', { code: grpc.status.INTERNAL, details: String(err) }));
  };
  const server = new grpc.Server();
  server.addService(snapshots.LayersService, withUnimplemented<snapshots.LayersServer>(snapshots.LayersService, { unpackImage }));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  self.stop = () =>
    new Promise<void>((resolve) => {
      server.forceShutdown();
      rmSync(socket, { force: true });
      resolve();
    });
  return self;
}

let svc: ImagesHarness;
let reg: TestRegistry;
let layered: BuiltImage;
let standIn: StandIn | undefined;
let log: EventLog;

beforeAll(async () => {
  layered = await layeredImage();
  reg = await startRegistry({ auth: 'none' });
  await pushImage(layered.layoutDir, 'library/layered:v1', { registry: reg });
  svc = await startImagesService({ argv: ['--images.snapshotter', 'native'] });
  log = await recordEvents(await svc.connectObserver(), 'berth.*.events.images.pull.>');
});
afterAll(async () => {
  log?.stop();
  await standIn?.stop();
  await svc?.stop();
  await reg?.stop();
});

const ref = () => `${reg.host}/library/layered:v1`;
const pull = (opts: Partial<images.PullImageRequest> = {}) =>
  collect(svc.clients.transfer.pullImage(images.PullImageRequest.fromPartial({ reference: ref(), unpack: true, ...opts })));
const getImage = (name: string) => rpc<images.GetImageResponse>((cb) => svc.clients.images.getImage({ name }, cb));

function finalStates(messages: images.PullImageResponse[]): Map<string, types.ProgressState[]> {
  const states = new Map<string, types.ProgressState[]>();
  for (const m of messages) {
    if (m.event?.$case !== 'progress') continue;
    for (const b of m.event.value.blobs) states.set(b.digest, [...(states.get(b.digest) ?? []), b.state]);
  }
  return states;
}

describe('pull with unpack', () => {
  it('fails with UNAVAILABLE naming the snapshots socket while nothing serves it, keeping the content', async () => {
    const err = await grpcError(pull());
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain(join(svc.state.runtimeDir, 'snapshots.sock'));
    expect((await grpcError(getImage(ref()))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('once snapshots runs, the retry fetches nothing again, unpacks every layer and records the image', async () => {
    standIn = await startSnapshotsStandIn(join(svc.state.runtimeDir, 'snapshots.sock'), svc.clients.content);
    const messages = await pull();
    expect(messages.at(-1)?.event?.$case).toBe('image');

    expect(standIn.requests).toHaveLength(1);
    const req = standIn.requests[0]!;
    expect(req.snapshotter).toBe('native'); // the service's configured default
    expect(req.layers.map((l) => l.digest)).toEqual(layered.layers.map((l) => l.digest));
    expect(req.diffIds).toEqual(layered.layers.map((l) => l.diffId));

    const states = finalStates(messages);
    for (const l of layered.layers) {
      const seen = states.get(l.digest) ?? [];
      expect(seen).not.toContain(types.ProgressState.DOWNLOADING);
      expect(seen).toContain(types.ProgressState.EXISTS);
      expect(seen.at(-1)).toBe(types.ProgressState.DONE);
    }
    expect((await getImage(ref())).image?.target?.digest).toBe(layered.manifestDigest);
    const finished = await log.waitFor((e) => e.type === 'images.pull.finished' && e.payload.reference === ref());
    expect(finished.payload.unpacked).toBe(true);
  });

  it('passes the snapshotter a request names', async () => {
    await pull({ snapshotter: 'overlayfs' });
    expect(standIn!.requests.at(-1)?.snapshotter).toBe('overlayfs');
  });

  it('a snapshots service that reports another chain id fails the pull instead of recording a broken image', async () => {
    await rpc((cb) => svc.clients.images.deleteImage({ name: ref(), sync: true }, cb));
    standIn!.behaviour = 'wrong-chain';
    const err = await grpcError(pull());
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).toContain(`expected ${chainIds(layered.layers.map((l) => l.diffId)).at(-1)}`);
    expect((await grpcError(getImage(ref()))).code).toBe(grpc.status.NOT_FOUND);
  });

  it("a snapshots service without UnpackImage is relayed as UNIMPLEMENTED with the neighbour's words", async () => {
    standIn!.behaviour = 'unimplemented';
    const err = await grpcError(pull());
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err.details).toContain('snapshots service at unix:');
    expect(err.details).toContain('UnpackImage is not supported by this (older) snapshots service');
  });

  it('an import asking to unpack unpacks each imported image', async () => {
    standIn!.behaviour = 'unpack';
    const before = standIn!.requests.length;
    const file = join(svc.state.root, 'layered-docker.tar');
    await withSkopeoSource(layered.layoutDir, undefined, (source) =>
      skopeo(['copy', '--quiet', source, `docker-archive:${file}:example.com/imported/layered:v1`]),
    );
    const bytes = readFileSync(file);
    const res = await new Promise<images.ImportImagesResponse>((resolve, reject) => {
      const call = svc.clients.transfer.importImages((err, r) => (err ? reject(err) : resolve(r!)));
      call.write(images.ImportImagesRequest.fromPartial({ payload: { $case: 'options', value: { unpack: true, snapshotter: 'overlayfs' } } }));
      call.write(images.ImportImagesRequest.fromPartial({ payload: { $case: 'chunk', value: bytes } }));
      call.end();
    });
    expect(res.images.map((i) => i.name)).toEqual(['example.com/imported/layered:v1']);
    expect(standIn!.requests.length).toBe(before + 1);
    const req = standIn!.requests.at(-1)!;
    expect(req.snapshotter).toBe('overlayfs');
    expect(req.diffIds).toEqual(layered.layers.map((l) => l.diffId));
  });

  it('unpack:false never calls snapshots', async () => {
    const before = standIn!.requests.length;
    const messages = await pull({ unpack: false });
    expect(messages.at(-1)?.event?.$case).toBe('image');
    expect(standIn!.requests.length).toBe(before);
  });
});

import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NAMESPACE_METADATA_KEY, snapshots, types } from '@berth/api';
import { invalidArgument, type ServiceRegistration } from '@berth/service-kit';
import { applyLayer } from '../apply/apply-layer.js';
import { applyToActive } from '../apply/apply-to-active.js';
import { chainIdOf, isSha256Digest } from '../chain-id.js';
import { diffSnapshot, type DiffOptions } from '../diff.js';
import { SnapshotError } from '../errors.js';
import type { BlobReader } from './content-peer.js';
import type { HandlerDeps } from './deps.js';
import { Latest } from './latest.js';
import { checkSnapshotter, namespaceOf } from './request.js';

const { LayerCompression } = snapshots;
const { ProgressState } = types;

/** Progress messages are sent at most every this many bytes (and only as fast as the client reads). */
const PROGRESS_STEP = 1 << 20;

function requireDescriptor(d: types.Descriptor | undefined, what: string): types.Descriptor {
  if (!d) throw invalidArgument(`${what} is missing`);
  if (!isSha256Digest(d.digest)) throw invalidArgument(`${what}: digest ${JSON.stringify(d.digest)} is not a sha256 digest (sha256:<64 hex>)`);
  return d;
}

function requireDiffId(diffId: string, what: string): void {
  if (!isSha256Digest(diffId)) throw invalidArgument(`${what} ${JSON.stringify(diffId)} is not a sha256 digest (sha256:<64 hex>)`);
}

/** An apply failed: when reading the blob from the images service failed first, that is the cause to report. */
function blobFailureOr(blob: BlobReader, err: unknown): unknown {
  return blob.failure() ?? err;
}

/** Counts the bytes flowing through a blob reader. */
function counted(blob: BlobReader, onBytes: (total: number) => void): AsyncIterable<Uint8Array> & { destroy(): void } {
  let total = 0;
  return {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of blob) {
        total += chunk.length;
        onBytes(total);
        yield chunk;
      }
    },
    destroy: () => blob.destroy(),
  };
}

const COMPRESSIONS: Record<snapshots.LayerCompression, DiffOptions['compression'] | undefined> = {
  [LayerCompression.UNSPECIFIED]: 'gzip',
  [LayerCompression.GZIP]: 'gzip',
  [LayerCompression.NONE]: 'none',
  [LayerCompression.ZSTD]: 'zstd',
  [LayerCompression.UNRECOGNIZED]: undefined,
};

function blobProgress(layer: types.Descriptor, state: types.ProgressState, current: number): snapshots.UnpackImageResponse {
  return snapshots.UnpackImageResponse.fromPartial({
    event: {
      $case: 'progress',
      value: types.BlobProgress.fromPartial({
        id: layer.digest.slice('sha256:'.length, 'sha256:'.length + 12),
        digest: layer.digest,
        mediaType: layer.mediaType,
        state,
        current,
        total: layer.size,
      }),
    },
  });
}

/** berth.snapshots.v1.Layers: layers from the images content store into snapshots, and back. */
export function layersService(deps: HandlerDeps): ServiceRegistration {
  const { sn, rpc, content } = deps;
  const check = (req: { snapshotter: string }) => checkSnapshotter(req.snapshotter, deps.snapshotter);
  /** Metadata for calls to the images service: the caller's namespace travels along. */
  const peerMetadata = (call: { metadata: grpc.Metadata }) => {
    const md = new grpc.Metadata();
    md.set(NAMESPACE_METADATA_KEY, namespaceOf(call, deps.defaultNamespace));
    return md;
  };

  async function* unpackImage(req: snapshots.UnpackImageRequest, call: grpc.ServerWritableStream<snapshots.UnpackImageRequest, snapshots.UnpackImageResponse>) {
    check(req);
    const namespace = namespaceOf(call, deps.defaultNamespace);
    if (req.layers.length === 0) throw invalidArgument('UnpackImage needs at least one layer');
    if (req.diffIds.length !== req.layers.length) {
      throw invalidArgument(`UnpackImage got ${req.layers.length} layers but ${req.diffIds.length} diff ids; they pair up in order`);
    }
    req.layers.forEach((l, i) => requireDescriptor(l, `layers[${i}]`));
    req.diffIds.forEach((d, i) => requireDiffId(d, `diff_ids[${i}]`));
    const metadata = peerMetadata(call);
    const chainIds: string[] = [];
    let applied = 0;
    let parent: string | undefined;
    for (const [i, layer] of req.layers.entries()) {
      const diffId = req.diffIds[i]!;
      const chainId = chainIdOf(parent, diffId);
      const existing = await sn.stat(chainId).catch((err: unknown) => {
        if (err instanceof SnapshotError && err.code === 'not_found') return undefined;
        throw err;
      });
      if (existing?.kind === 'committed') {
        yield blobProgress(layer, ProgressState.EXISTS, layer.size);
      } else {
        yield blobProgress(layer, ProgressState.EXTRACTING, 0);
        const blob = content.read(layer.digest, metadata);
        const bytes = new Latest<number>();
        let reported = 0;
        const stream = counted(blob, (n) => {
          if (n - reported >= PROGRESS_STEP) bytes.set((reported = n));
        });
        const onCancel = () => blob.destroy();
        call.once('cancelled', onCancel);
        const key = `extract-${randomBytes(6).toString('hex')} ${chainId}`;
        const work = applyLayer(sn, {
          ...(parent !== undefined ? { parent } : {}),
          stream,
          expectedDiffId: diffId,
          mediaType: layer.mediaType,
          labels: req.labels,
          key,
          allowDevices: deps.allowDevices,
        });
        work.catch(() => undefined); // awaited below; the client may go away first
        let result;
        try {
          for await (const current of bytes.until(work)) yield blobProgress(layer, ProgressState.EXTRACTING, current);
          result = await work.catch((err: unknown) => {
            throw blobFailureOr(blob, err);
          });
        } finally {
          call.removeListener('cancelled', onCancel);
          // Left early (client gone): stop reading so the apply fails and discards its snapshot.
          blob.destroy();
          await work.catch(() => undefined);
        }
        if (result.applied) {
          applied++;
          deps.logger.info({ chainId, diffId, entries: result.stats?.entries, bytes: result.stats?.tarBytes }, 'layer unpacked');
          await deps.events.committed(namespace, { name: chainId, key, parent });
        }
        yield blobProgress(layer, result.applied ? ProgressState.DONE : ProgressState.EXISTS, layer.size);
      }
      chainIds.push(chainId);
      parent = chainId;
    }
    yield snapshots.UnpackImageResponse.fromPartial({ event: { $case: 'result', value: { chainIds, appliedLayers: applied } } });
  }

  const handlers: snapshots.LayersServer = {
    applyLayer: rpc.unary('ApplyLayer', async (req: snapshots.ApplyLayerRequest, call) => {
      check(req);
      const layer = requireDescriptor(req.layer, 'layer');
      requireDiffId(req.diffId, 'diff_id');
      const blob = content.read(layer.digest, peerMetadata(call));
      const onCancel = () => blob.destroy();
      call.once('cancelled', onCancel);
      try {
        const result = await applyToActive(sn, req.key, {
          stream: blob,
          mediaType: layer.mediaType,
          expectedDiffId: req.diffId,
          allowDevices: deps.allowDevices,
        });
        return snapshots.ApplyLayerResponse.fromPartial({
          diffId: result.diffId,
          uncompressedSize: result.stats.tarBytes,
          entries: result.stats.entries,
        });
      } catch (err) {
        throw blobFailureOr(blob, err);
      } finally {
        call.removeListener('cancelled', onCancel);
      }
    }),

    unpackImage: rpc.serverStream('UnpackImage', unpackImage),

    diffSnapshot: rpc.unary('DiffSnapshot', async (req: snapshots.DiffSnapshotRequest, call) => {
      check(req);
      const compression = COMPRESSIONS[req.compression];
      if (compression === undefined) throw invalidArgument(`unknown layer compression ${JSON.stringify(req.compression)}`);
      const outputPath = join(deps.scratchDir, `diff-${randomBytes(8).toString('hex')}`);
      try {
        const diff = await diffSnapshot(sn, req.key, {
          outputPath,
          compression,
          gzipLevel: deps.gzipLevel,
          ...(req.parent !== '' ? { parent: req.parent } : {}),
        });
        await content.write(outputPath, { digest: diff.digest, size: diff.size }, req.labels, peerMetadata(call));
        return snapshots.DiffSnapshotResponse.fromPartial({
          layer: { mediaType: diff.mediaType, digest: diff.digest, size: diff.size },
          diffId: diff.diffId,
        });
      } finally {
        await rm(outputPath, { force: true });
      }
    }),
  };
  return { definition: snapshots.LayersService, handlers };
}

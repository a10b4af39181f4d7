// The pull's unpack step over gRPC: the snapshots service's Layers.UnpackImage
// turns the stored layers into committed snapshots (it reads the layer bytes
// from this service's Content API). Its per-layer progress becomes the pull's
// extracting/done states. When snapshots cannot be reached the pull fails
// with UNAVAILABLE, which the core treats as transient: the fetched content
// stays (leased) so the next pull only unpacks.
import * as grpc from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY, snapshots, types } from '@berth/api';
import { normaliseAddress, tracingClientInterceptor } from '@berth/service-kit';
import { chainId, chainIds, type Descriptor, type Digest } from '@berth/oci';
import { ImagesError, type ImagesErrorCode } from '../errors.js';
import type { Unpacker, UnpackRequest } from '../pull.js';
import type { SnapshotHold } from '../snapshot-holds.js';
import { UNPACKED_BY, UNPACKED_BY_LABEL } from '../snapshot-plan.js';
import { descriptorToProto } from './convert.js';
import { statusName } from './status.js';

export interface SnapshotsTarget {
  /**
   * A client on a channel of its own, closed after one unpack. A long-lived
   * channel that once failed to connect backs off (up to minutes) and fails
   * calls fast meanwhile, so a pull retried right after snapshots came up
   * would still fail.
   */
  connect(): snapshots.LayersClient;
  /** A Snapshots API client on a channel of its own (for the snapshot GC), to close after the pass. */
  connectSnapshots(): snapshots.SnapshotsClient;
  /** The address the client dials, for error messages (e.g. unix:/run/berth/snapshots.sock). */
  address: string;
}

/** The snapshots service at `address` (e.g. peerAddress('snapshots', config)): Layers and Snapshots on one socket. */
export function snapshotsTarget(address: string): SnapshotsTarget {
  const options: grpc.ClientOptions = {
    interceptors: [tracingClientInterceptor],
    // A channel of its own: not a shared subchannel that may be backing off after an earlier failure.
    'grpc.use_local_subchannel_pool': 1,
  };
  return {
    address,
    connect: () => new snapshots.LayersClient(normaliseAddress(address), grpc.credentials.createInsecure(), options),
    connectSnapshots: () => new snapshots.SnapshotsClient(normaliseAddress(address), grpc.credentials.createInsecure(), options),
  };
}

interface ServiceErrorLike {
  code?: number;
  details?: string;
  message?: string;
}

/** What to unpack: an image's layers and their diff_ids, base first. */
export interface LayersToUnpack {
  /** The image, for messages. */
  name: string;
  /** Namespace of the pull or import (snapshots reads content and reports events in it). */
  namespace: string;
  layers: Descriptor[];
  diffIds: readonly Digest[];
  signal: AbortSignal;
  onLayer: UnpackRequest['onLayer'];
  /** Protects the chain ids from the snapshot GC; its owner releases it once the image record exists. */
  hold: SnapshotHold;
}

/** The pull's Unpacker: unpacks into `snapshotter` through the snapshots service, under the pull's `hold`. */
export function snapshotsUnpacker(target: SnapshotsTarget, snapshotter: string, namespace: string, hold: SnapshotHold): Unpacker {
  return (req) =>
    unpackLayers(target, snapshotter, {
      name: req.ref.string(),
      namespace,
      layers: req.layers,
      diffIds: req.config.rootfs.diff_ids,
      signal: req.signal,
      onLayer: req.onLayer,
      hold,
    });
}

/**
 * Unpacks layers into committed snapshots through the snapshots service's
 * Layers.UnpackImage, labelled as this service's (the snapshot GC removes
 * only those). The chain ids are protected by `req.hold` first, so a GC pass
 * either sees them or has finished before the snapshots service looks.
 */
export async function unpackLayers(target: SnapshotsTarget, snapshotter: string, req: LayersToUnpack): Promise<void> {
  await req.hold.protect(chainIds(req.diffIds), req.signal);
  return unpackProtected(target, snapshotter, req);
}

function unpackProtected(target: SnapshotsTarget, snapshotter: string, req: LayersToUnpack): Promise<void> {
  const diffIds = req.diffIds;
  const byKey = layerIndex(req);
  const what = `unpacking ${req.name} into snapshotter ${snapshotter}`;
  return new Promise<void>((resolve, reject) => {
    req.signal.throwIfAborted();
    const client = target.connect();
    const metadata = new grpc.Metadata();
    metadata.set(NAMESPACE_METADATA_KEY, req.namespace);
    const call = client.unpackImage(
      snapshots.UnpackImageRequest.fromPartial({
        snapshotter,
        layers: req.layers.map(descriptorToProto),
        diffIds: [...diffIds],
        labels: { [UNPACKED_BY_LABEL]: UNPACKED_BY },
      }),
      metadata,
    );
    let settled = false;
    let result: snapshots.UnpackResult | undefined;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      client.close();
      req.signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => {
      call.cancel();
      settle(req.signal.reason);
    };
    req.signal.addEventListener('abort', onAbort, { once: true });

    call.on('data', (msg: snapshots.UnpackImageResponse) => {
      const event = msg.event;
      if (event?.$case === 'result') {
        result = event.value;
        return;
      }
      if (event?.$case !== 'progress') return;
      const digest = byKey.get(event.value.digest) ?? byKey.get(event.value.id);
      if (digest === undefined) return;
      if (event.value.state === types.ProgressState.EXTRACTING) req.onLayer(digest, 'extracting');
      else if (event.value.state === types.ProgressState.DONE || event.value.state === types.ProgressState.EXISTS) {
        req.onLayer(digest, 'done');
      }
    });
    call.on('error', (err: ServiceErrorLike) => settle(unpackError(err, target.address, what)));
    call.on('end', () => {
      if (result === undefined) {
        settle(new ImagesError('INTERNAL', `${what}: the snapshots service ended the unpack stream without a result`));
        return;
      }
      const want = chainId(diffIds);
      const got = result.chainIds.at(-1);
      if (want !== undefined && got !== want) {
        settle(new ImagesError('INTERNAL', `${what}: the snapshots service reports top chain id ${got ?? '(none)'}, expected ${want}`));
        return;
      }
      for (const layer of req.layers) req.onLayer(layer.digest, 'done');
      settle();
    });
  });
}

/** Layer digest by layer digest, diff_id and short id, as snapshots may name a layer by any of them. */
function layerIndex(req: LayersToUnpack): Map<string, Digest> {
  const out = new Map<string, Digest>();
  req.layers.forEach((layer, i) => {
    out.set(layer.digest, layer.digest);
    const diffId = req.diffIds[i];
    if (diffId !== undefined) out.set(diffId, layer.digest);
    const hex = layer.digest.slice(layer.digest.indexOf(':') + 1);
    out.set(hex.slice(0, 12), layer.digest);
  });
  return out;
}

function unpackError(err: ServiceErrorLike, address: string, what: string): ImagesError {
  const code = statusName(err.code) as ImagesErrorCode | 'OK';
  const details = err.details || err.message || 'no details';
  if (code === 'UNAVAILABLE') {
    return new ImagesError(
      'UNAVAILABLE',
      `${what}: the snapshots service at ${address} is unreachable (${details}); the pulled content is kept, pull again once it runs`,
      { cause: err },
    );
  }
  return new ImagesError(code === 'OK' ? 'UNKNOWN' : code, `${what}: snapshots service at ${address}: ${details}`, { cause: err });
}

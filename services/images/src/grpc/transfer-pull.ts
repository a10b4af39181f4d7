// Transfer.PullImage: the core's pull with its callbacks turned into the
// stream: "resolved" first, batched per-layer progress, the image last.
import { images } from '@berth/api';
import type { ImagesCore } from '../core.js';
import { invalidArgument } from '../errors.js';
import { pull, type PullOptions, type PullResolution } from '../pull.js';
import { AsyncQueue, cancellation } from './async-queue.js';
import { descriptorToProto, imageToProto, platformFromProto } from './convert.js';
import { namespaceOf, type Handlers } from './handlers.js';
import { ProgressBatcher } from './progress-batcher.js';
import { registryFor, registryOf } from './registry-options.js';
import type { TransferSettings } from './transfer-settings.js';
import { snapshotsUnpacker } from './unpack.js';

type Response = images.PullImageResponse;
const message = (event: NonNullable<Response['event']>): Response => images.PullImageResponse.fromPartial({ event });

export function pullImageHandler(core: ImagesCore, h: Handlers, settings: TransferSettings) {
  return h.serverStream<images.PullImageRequest, Response>(async function* (req, call) {
    const namespace = namespaceOf(call);
    if (req.reference === '') throw invalidArgument('PullImage: reference is required');
    const platform = platformFromProto(req.platform);
    // Held until the pull is over: the snapshots are unreferenced until its image record exists.
    const hold = settings.holds.hold();
    const unpack = settings.unpackWanted(req.unpack, `pull of ${req.reference}`)
      ? snapshotsUnpacker(settings.snapshots, req.snapshotter || settings.snapshotter, namespace, hold)
      : undefined;
    const registry = registryFor(core.registry, settings.registryBase, req.registry, registryOf(req.reference));
    const abort = cancellation(call);
    const queue = new AsyncQueue<Response>();
    const batcher = new ProgressBatcher((progress) => queue.push(message({ $case: 'progress', value: progress })), settings.progressIntervalMs);
    const opts: PullOptions = {
      namespace,
      ...(platform ? { platform } : {}),
      concurrency: req.registry?.concurrency || settings.concurrency,
      signal: abort.signal,
      ...(Object.keys(req.labels).length > 0 ? { labels: req.labels } : {}),
      ...(unpack ? { unpack } : {}),
      ...(core.events ? { events: core.events } : {}),
      progressIntervalMs: settings.progressIntervalMs,
      onResolved: (r) => queue.push(message({ $case: 'resolved', value: resolvedToProto(r) })),
      onProgress: (p) => batcher.update(p),
    };
    const deps = { content: core.content, images: core.images, leases: core.leases, registry: registry.client };
    const done = settings.operations
      .track(pull(deps, req.reference, opts))
      .then(
        (result) => {
          batcher.flush();
          queue.push(message({ $case: 'image', value: imageToProto(result.image) }));
          queue.end();
        },
        (err: unknown) => {
          batcher.stop();
          queue.fail(err);
        },
      )
      .finally(() => {
        hold.release();
        registry.release();
      });
    try {
      yield* queue;
    } finally {
      batcher.stop();
      abort.abort(); // a no-op once the pull is over; stops it when the client went away
      await done;
    }
  });
}

function resolvedToProto(r: PullResolution): images.PullResolved {
  return images.PullResolved.fromPartial({
    name: r.name,
    target: descriptorToProto(r.target),
    manifest: descriptorToProto(r.manifest),
    layers: r.layers.map(descriptorToProto),
  });
}

// Transfer.PushImage: the core's push, each blob reported as it is settled
// (already there, mounted from another repository, or uploaded), the pushed
// reference and target last.
import { images, types } from '@berth/api';
import type { Descriptor } from '@berth/oci';
import type { ImagesCore } from '../core.js';
import { shortId } from '../progress.js';
import { push } from '../push.js';
import type { PushBlobResult } from '../registry/client.js';
import { AsyncQueue, cancellation } from './async-queue.js';
import { descriptorToProto, platformFromProto } from './convert.js';
import { findImage } from './image-names.js';
import { namespaceOf, type Handlers } from './handlers.js';
import { registryFor, registryOf } from './registry-options.js';
import type { TransferSettings } from './transfer-settings.js';

type Response = images.PushImageResponse;
const message = (event: NonNullable<Response['event']>): Response => images.PushImageResponse.fromPartial({ event });

const PUSH_STATES: Record<PushBlobResult, types.ProgressState> = {
  exists: types.ProgressState.EXISTS,
  mounted: types.ProgressState.MOUNTED,
  uploaded: types.ProgressState.DONE,
};

export function pushImageHandler(core: ImagesCore, h: Handlers, settings: TransferSettings) {
  return h.serverStream<images.PushImageRequest, Response>(async function* (req, call) {
    const namespace = namespaceOf(call);
    const record = findImage(core.images, namespace, req.name);
    const platform = platformFromProto(req.platform);
    const destination = req.reference || record.name;
    const registry = registryFor(core.registry, settings.registryBase, req.registry, registryOf(destination));
    const abort = cancellation(call);
    const queue = new AsyncQueue<Response>();
    const deps = { content: core.content, images: core.images, registry: registry.client };
    const done = settings.operations
      .track(
        push(deps, record.name, destination, {
          namespace,
          concurrency: req.registry?.concurrency || settings.concurrency,
          signal: abort.signal,
          ...(platform ? { platform } : {}),
          ...(core.events ? { events: core.events } : {}),
          onBlob: (desc, result) => queue.push(message({ $case: 'progress', value: blobProgress(desc, result) })),
        }),
      )
      .then(
        (result) => {
          const value = images.PushResult.fromPartial({ reference: result.ref, target: descriptorToProto(result.target) });
          queue.push(message({ $case: 'result', value }));
          queue.end();
        },
        (err: unknown) => queue.fail(err),
      )
      .finally(() => registry.release());
    try {
      yield* queue;
    } finally {
      abort.abort();
      await done;
    }
  });
}

function blobProgress(desc: Descriptor, result: PushBlobResult): images.TransferProgress {
  const blob = types.BlobProgress.fromPartial({
    id: shortId(desc.digest),
    digest: desc.digest,
    mediaType: desc.mediaType,
    state: PUSH_STATES[result],
    current: desc.size,
    total: desc.size,
  });
  return images.TransferProgress.fromPartial({ blobs: [blob] });
}

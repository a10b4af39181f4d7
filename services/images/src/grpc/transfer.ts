// berth.images.v1.Transfer: pull and push against registries (progress as
// server streams), import and export of image archives (streamed in chunks),
// and the credential check behind `berth login`.
import { PassThrough } from 'node:stream';
import { images, types } from '@berth/api';
import { hostPlatform, type Platform } from '@berth/oci';
import type { Logger } from '@berth/telemetry';
import type { ArchiveFormat } from '../archive/export.js';
import type { ImagesCore } from '../core.js';
import { invalidArgument } from '../errors.js';
import type { ImageRecord } from '../images.js';
import { pull } from '../pull.js';
import { push } from '../push.js';
import type { RegistryClientOptions } from '../registry/client.js';
import { normalizeRegistryHost } from '../registry/login.js';
import { resolveImage } from '../resolve.js';
import { AsyncQueue, cancellation } from './async-queue.js';
import { descriptorToProto, imageToProto, platformFromProto } from './convert.js';
import { findImage } from './image-names.js';
import { namespaceOf, type Handlers } from './handlers.js';
import { ProgressBatcher } from './progress-batcher.js';
import { credentialsFromProto, registryFor } from './registry-options.js';
import { snapshotsUnpacker, unpackLayers, type SnapshotsTarget } from './unpack.js';

export interface TransferSettings {
  /** Options every registry client starts from (insecure registries, credentials from the docker config). */
  registryBase: RegistryClientOptions;
  /** Blobs fetched or uploaded at once when a request does not say. */
  concurrency: number;
  /** Whether this node unpacks at all; when false, requests to unpack only fetch. */
  unpack: boolean;
  /** Snapshotter used when a request names none. */
  snapshotter: string;
  snapshots: SnapshotsTarget;
  /** Minimum interval between progress messages of a stream. */
  progressIntervalMs: number;
  logger: Logger;
}

/** Bytes per ExportImages message (at least; the last one may be shorter). */
const EXPORT_CHUNK = 256 * 1024;

export function transferService(core: ImagesCore, h: Handlers, settings: TransferSettings): images.TransferServer {
  const unpackWanted = (asked: boolean, what: string): boolean => {
    if (asked && !settings.unpack) settings.logger.info(`${what}: not unpacking, this node is configured with images.unpack=false`);
    return asked && settings.unpack;
  };

  return {
    pullImage: h.serverStream(async function* (req, call) {
      const namespace = namespaceOf(call);
      if (req.reference === '') throw invalidArgument('PullImage: reference is required');
      const platform = platformFromProto(req.platform);
      const snapshotter = req.snapshotter || settings.snapshotter;
      const unpack = unpackWanted(req.unpack, `pull of ${req.reference}`) ? snapshotsUnpacker(settings.snapshots, snapshotter) : undefined;
      const registry = registryFor(core.registry, settings.registryBase, req.registry);
      const abort = cancellation(call);
      const queue = new AsyncQueue<images.PullImageResponse>();
      const batcher = new ProgressBatcher(
        (progress) => queue.push(images.PullImageResponse.fromPartial({ event: { $case: 'progress', value: progress } })),
        settings.progressIntervalMs,
      );
      const done = pull({ content: core.content, images: core.images, leases: core.leases, registry: registry.client }, req.reference, {
        namespace,
        ...(platform ? { platform } : {}),
        concurrency: req.registry?.concurrency || settings.concurrency,
        signal: abort.signal,
        ...(Object.keys(req.labels).length > 0 ? { labels: req.labels } : {}),
        ...(unpack ? { unpack } : {}),
        ...(core.events ? { events: core.events } : {}),
        progressIntervalMs: settings.progressIntervalMs,
        onResolved: (r) =>
          queue.push(
            images.PullImageResponse.fromPartial({
              event: {
                $case: 'resolved',
                value: images.PullResolved.fromPartial({
                  name: r.name,
                  target: descriptorToProto(r.target),
                  manifest: descriptorToProto(r.manifest),
                  layers: r.layers.map(descriptorToProto),
                }),
              },
            }),
          ),
        onProgress: (p) => batcher.update(p),
      })
        .then(
          (result) => {
            batcher.flush();
            queue.push(images.PullImageResponse.fromPartial({ event: { $case: 'image', value: imageToProto(result.image) } }));
            queue.end();
          },
          (err: unknown) => {
            batcher.stop();
            queue.fail(err);
          },
        )
        .finally(() => registry.release());
      try {
        yield* queue;
      } finally {
        batcher.stop();
        abort.abort();
        await done;
      }
    }),

    pushImage: h.serverStream(async function* (req, call) {
      const namespace = namespaceOf(call);
      const record = findImage(core.images, namespace, req.name);
      const platform = platformFromProto(req.platform);
      const registry = registryFor(core.registry, settings.registryBase, req.registry);
      const abort = cancellation(call);
      const queue = new AsyncQueue<images.PushImageResponse>();
      const done = push({ content: core.content, images: core.images, registry: registry.client }, record.name, req.reference || record.name, {
        namespace,
        concurrency: req.registry?.concurrency || settings.concurrency,
        signal: abort.signal,
        ...(platform ? { platform } : {}),
        ...(core.events ? { events: core.events } : {}),
        onBlob: (desc, result) =>
          queue.push(
            images.PushImageResponse.fromPartial({
              event: {
                $case: 'progress',
                value: images.TransferProgress.fromPartial({
                  blobs: [
                    types.BlobProgress.fromPartial({
                      id: desc.digest.slice(desc.digest.indexOf(':') + 1, desc.digest.indexOf(':') + 13),
                      digest: desc.digest,
                      mediaType: desc.mediaType,
                      state:
                        result === 'exists'
                          ? types.ProgressState.EXISTS
                          : result === 'mounted'
                            ? types.ProgressState.MOUNTED
                            : types.ProgressState.DONE,
                      current: desc.size,
                      total: desc.size,
                    }),
                  ],
                }),
              },
            }),
          ),
      })
        .then(
          (result) => {
            queue.push(
              images.PushImageResponse.fromPartial({
                event: { $case: 'result', value: images.PushResult.fromPartial({ reference: result.ref, target: descriptorToProto(result.target) }) },
              }),
            );
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
    }),

    importImages: h.clientStream(async (requests, call) => {
      const namespace = namespaceOf(call);
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.payload?.$case !== 'options') {
        throw invalidArgument('ImportImages: the first message must carry the options');
      }
      const opts = first.value.payload.value;
      const format = archiveFormat(opts.format, undefined);
      const platform = platformFromProto(opts.platform);
      const chunks = (async function* () {
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          if (next.value.payload?.$case !== 'chunk') throw invalidArgument('ImportImages: only the first message may carry options');
          yield next.value.payload.value;
        }
      })();
      const abort = cancellation(call);
      const result = await core.import(chunks, {
        namespace,
        ...(opts.baseName ? { baseName: opts.baseName } : {}),
        ...(Object.keys(opts.labels).length > 0 ? { labels: opts.labels } : {}),
        ...(format ? { format } : {}),
        signal: abort.signal,
      });
      if (unpackWanted(opts.unpack, 'import')) {
        await unpackImported(core, settings, result.images, opts.snapshotter || settings.snapshotter, platform ?? hostPlatform(), abort.signal);
      }
      return images.ImportImagesResponse.fromPartial({ images: result.images.map(imageToProto) });
    }),

    exportImages: h.serverStream(async function* (req, call) {
      const namespace = namespaceOf(call);
      if (req.names.length === 0) throw invalidArgument('ExportImages: name at least one image');
      const names = req.names.map((n) => findImage(core.images, namespace, n, 'names').name);
      const format = archiveFormat(req.format, undefined) ?? 'oci';
      const platforms = req.platforms.map((p, i) => platformFromProto(p, `platforms[${i}]`)).filter((p): p is Platform => p !== undefined);
      if (format === 'docker' && platforms.length > 1) {
        throw invalidArgument('ExportImages: a docker-archive holds one platform per image; name at most one platform');
      }
      const abort = cancellation(call);
      const out = new PassThrough({ highWaterMark: EXPORT_CHUNK * 4 });
      const done = core
        .export(names, out, {
          namespace,
          format,
          ...(format === 'docker' && platforms[0] ? { platform: platforms[0] } : {}),
          ...(format === 'oci' && platforms.length > 0 ? { platforms } : {}),
          signal: abort.signal,
        })
        .then(
          () => void out.end(),
          (err: unknown) => void out.destroy(err instanceof Error ? err : new Error(String(err))),
        );
      try {
        let pending: Buffer[] = [];
        let size = 0;
        for await (const chunk of out as AsyncIterable<Buffer>) {
          pending.push(chunk);
          size += chunk.byteLength;
          if (size >= EXPORT_CHUNK) {
            yield images.ExportImagesResponse.fromPartial({ chunk: Buffer.concat(pending) });
            pending = [];
            size = 0;
          }
        }
        if (size > 0) yield images.ExportImagesResponse.fromPartial({ chunk: Buffer.concat(pending) });
      } finally {
        abort.abort();
        out.destroy();
        await done;
      }
    }),

    verifyRegistryCredentials: h.unary(async (req, call) => {
      const host = normalizeRegistryHost(req.registryHost);
      const creds = credentialsFromProto(req.registry?.credentials);
      if (!creds) throw invalidArgument(`VerifyRegistryCredentials for ${host}: credentials are required`);
      const registry = registryFor(core.registry, settings.registryBase, req.registry);
      const abort = cancellation(call);
      try {
        const result = await registry.client.verifyCredentials(host, creds, { signal: abort.signal });
        return images.VerifyRegistryCredentialsResponse.fromPartial({ identityToken: result.identityToken ?? '' });
      } finally {
        registry.release();
      }
    }),
  };
}

/** A request's archive format; `fallback` for UNSPECIFIED. */
function archiveFormat(format: images.ArchiveFormat, fallback: ArchiveFormat | undefined): ArchiveFormat | undefined {
  switch (format) {
    case images.ArchiveFormat.OCI:
      return 'oci';
    case images.ArchiveFormat.DOCKER:
      return 'docker';
    case images.ArchiveFormat.UNSPECIFIED:
      return fallback;
    default:
      throw invalidArgument(`archive format ${JSON.stringify(format)} is not OCI or DOCKER`);
  }
}

/** Unpacks each imported image for `platform`; the records stay if unpacking fails (the error says so). */
async function unpackImported(
  core: ImagesCore,
  settings: TransferSettings,
  records: ImageRecord[],
  snapshotter: string,
  platform: Platform,
  signal: AbortSignal,
): Promise<void> {
  for (const record of records) {
    const r = await resolveImage(core.content, record.name, record.target, platform);
    try {
      await unpackLayers(settings.snapshots, snapshotter, {
        name: record.name,
        layers: r.manifest.layers,
        diffIds: r.diffIds,
        signal,
        onLayer: () => undefined,
      });
    } catch (err) {
      if (err instanceof Error) err.message = `${err.message} (the images were imported: ${records.map((i) => i.name).join(', ')})`;
      throw err;
    }
  }
}

// Transfer.ImportImages and Transfer.ExportImages: archives streamed in
// chunks, into the core's importer (then optionally unpacked) and out of its
// exporter.
import { PassThrough } from 'node:stream';
import { images } from '@berth/api';
import { hostPlatform, type Platform } from '@berth/oci';
import type { ArchiveFormat } from '../archive/export.js';
import type { ImagesCore } from '../core.js';
import { invalidArgument } from '../errors.js';
import type { ImageRecord } from '../images.js';
import { resolveImage } from '../resolve.js';
import { cancellation } from './async-queue.js';
import { imageToProto, platformFromProto } from './convert.js';
import { findImage } from './image-names.js';
import { namespaceOf, type Handlers } from './handlers.js';
import type { TransferSettings } from './transfer-settings.js';
import { unpackLayers } from './unpack.js';

/** Bytes per ExportImages message (at least; the last one may be shorter). */
const EXPORT_CHUNK = 256 * 1024;

export function importImagesHandler(core: ImagesCore, h: Handlers, settings: TransferSettings) {
  return h.clientStream<images.ImportImagesRequest, images.ImportImagesResponse>(async (_requests, call) => {
    const namespace = namespaceOf(call);
    // Reading must not destroy the call when the client half-closes: the answer still goes out after that.
    const it = (call.iterator({ destroyOnReturn: false }) as AsyncIterable<images.ImportImagesRequest>)[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done || first.value.payload?.$case !== 'options') {
      throw invalidArgument('ImportImages: the first message must carry the options');
    }
    const opts = first.value.payload.value;
    const format = archiveFormat(opts.format);
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
    const result = await settings.operations.track(
      core.import(chunks, {
        namespace,
        ...(opts.baseName ? { baseName: opts.baseName } : {}),
        ...(Object.keys(opts.labels).length > 0 ? { labels: opts.labels } : {}),
        ...(format ? { format } : {}),
        signal: abort.signal,
      }),
    );
    if (settings.unpackWanted(opts.unpack, 'import')) {
      const snapshotter = opts.snapshotter || settings.snapshotter;
      const unpacking = unpackImported(core, settings, result.images, { namespace, snapshotter, platform: platform ?? hostPlatform() }, abort.signal);
      await settings.operations.track(unpacking);
    }
    return images.ImportImagesResponse.fromPartial({ images: result.images.map(imageToProto) });
  });
}

export function exportImagesHandler(core: ImagesCore, h: Handlers, settings: TransferSettings) {
  return h.serverStream<images.ExportImagesRequest, images.ExportImagesResponse>(async function* (req, call) {
    const namespace = namespaceOf(call);
    if (req.names.length === 0) throw invalidArgument('ExportImages: name at least one image');
    const names = req.names.map((n) => findImage(core.images, namespace, n, 'names').name);
    const format = archiveFormat(req.format) ?? 'oci';
    const platforms = req.platforms.map((p, i) => platformFromProto(p, `platforms[${i}]`)).filter((p): p is Platform => p !== undefined);
    if (format === 'docker' && platforms.length > 1) {
      throw invalidArgument('ExportImages: a docker-archive holds one platform per image; name at most one platform');
    }
    const abort = cancellation(call);
    const out = new PassThrough({ highWaterMark: EXPORT_CHUNK * 4 });
    const done = settings.operations
      .track(
        core.export(names, out, {
          namespace,
          format,
          ...(format === 'docker' && platforms[0] ? { platform: platforms[0] } : {}),
          ...(format === 'oci' && platforms.length > 0 ? { platforms } : {}),
          signal: abort.signal,
        }),
      )
      .then(
        () => void out.end(),
        (err: unknown) => void out.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    try {
      // Tar headers come in 512-byte writes: gather them into messages of a useful size.
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
  });
}

/** A request's archive format; undefined for UNSPECIFIED. */
function archiveFormat(format: images.ArchiveFormat): ArchiveFormat | undefined {
  switch (format) {
    case images.ArchiveFormat.OCI:
      return 'oci';
    case images.ArchiveFormat.DOCKER:
      return 'docker';
    case images.ArchiveFormat.UNSPECIFIED:
      return undefined;
    default:
      throw invalidArgument(`archive format ${JSON.stringify(format)} is not OCI or DOCKER`);
  }
}

/** Unpacks each imported image for `platform`; the records stay if unpacking fails (the error says so). */
async function unpackImported(
  core: ImagesCore,
  settings: TransferSettings,
  records: ImageRecord[],
  where: { namespace: string; snapshotter: string; platform: Platform },
  signal: AbortSignal,
): Promise<void> {
  // The records exist already; the hold covers a GC pass that started before they did.
  const hold = settings.holds.hold();
  try {
    for (const record of records) {
      const r = await resolveImage(core.content, record.name, record.target, where.platform);
      try {
        await unpackLayers(settings.snapshots, where.snapshotter, {
          name: record.name,
          namespace: where.namespace,
          layers: r.manifest.layers,
          diffIds: r.diffIds,
          signal,
          onLayer: () => undefined,
          hold,
        });
      } catch (err) {
        if (err instanceof Error) err.message = `${err.message} (the images were imported: ${records.map((i) => i.name).join(', ')})`;
        throw err;
      }
    }
  } finally {
    hold.release();
  }
}

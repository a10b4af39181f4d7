// berth.images.v1.Content over the core's content store.
import { images, types } from '@berth/api';
import { parseDigest, type Digest } from '@berth/oci';
import type { ImagesCore } from '../core.js';
import { invalidArgument, messageOf } from '../errors.js';
import type { ContentInfo, IngestStatus } from '../content/types.js';
import type { Labels } from '../labels.js';
import { contentInfoToProto, ingestToProto } from './convert.js';
import { runWriteStream } from './content-write.js';
import { compileFilters } from './filters.js';
import { namespaceOf, type Handlers } from './handlers.js';
import type { SnapshotCollector } from './snapshot-gc.js';

/** Bytes per ReadContent message. */
const READ_CHUNK = 1024 * 1024;

/** `snapshotGc` (absent when this node does not unpack) runs with each PruneContent. */
export function contentService(core: ImagesCore, h: Handlers, snapshotGc?: SnapshotCollector): images.ContentServer {
  return {
    getContentInfo: h.unary((req) =>
      images.GetContentInfoResponse.fromPartial({ info: contentInfoToProto(core.content.info(digestArg(req.digest))) }),
    ),

    listContent: h.unary((req) => {
      const matches = compileFilters<ContentInfo>(req.filters, {
        fields: { digest: (i) => i.digest },
        labels: (i) => i.labels,
      });
      return images.ListContentResponse.fromPartial({ infos: core.content.list().filter(matches).map(contentInfoToProto) });
    }),

    readContent: h.serverStream(async function* (req) {
      const digest = digestArg(req.digest);
      if (req.offset < 0) throw invalidArgument(`ReadContent of ${digest}: offset ${req.offset} is negative`);
      if (req.size < 0) throw invalidArgument(`ReadContent of ${digest}: size ${req.size} is negative`);
      let offset = req.offset;
      const stream = core.content.readStream(digest, {
        offset,
        ...(req.size > 0 ? { length: req.size } : {}),
        chunkSize: READ_CHUNK,
      });
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          yield images.ReadContentResponse.fromPartial({ offset, data: chunk });
          offset += chunk.byteLength;
        }
      } finally {
        stream.destroy();
      }
    }),

    writeContent: h.bidiStream((requests, send) => runWriteStream(core, requests, send)),

    deleteContent: h.unary((req) => {
      core.content.delete(digestArg(req.digest));
      return images.DeleteContentResponse.fromPartial({});
    }),

    updateContent: h.unary((req) => {
      const digest = digestArg(req.digest);
      const { labels, replace } = labelUpdate(req.labels, req.updateMask, `UpdateContent of ${digest}`);
      return images.UpdateContentResponse.fromPartial({ info: contentInfoToProto(core.content.updateLabels(digest, labels, { replace })) });
    }),

    listIngests: h.unary(async (req) => {
      const matches = compileFilters<IngestStatus>(req.filters, {
        fields: { ref: (s) => s.ref, expected: (s) => s.expected },
        globs: ['ref'],
      });
      const statuses = (await core.content.statuses()).filter(matches);
      return images.ListIngestsResponse.fromPartial({ statuses: statuses.map(ingestToProto) });
    }),

    getIngest: h.unary(async (req) => {
      if (req.ref === '') throw invalidArgument('GetIngest: ref is required');
      return images.GetIngestResponse.fromPartial({ status: ingestToProto(await core.content.status(req.ref)) });
    }),

    abortIngest: h.unary(async (req) => {
      if (req.ref === '') throw invalidArgument('AbortIngest: ref is required');
      await core.content.abort(req.ref);
      return images.AbortIngestResponse.fromPartial({});
    }),

    pruneContent: h.unary(async (req, call) => {
      if (req.staleIngestSeconds < 0) throw invalidArgument(`PruneContent: stale_ingest_seconds ${req.staleIngestSeconds} is negative`);
      const staleMs = req.staleIngestSeconds * 1000;
      const removedIngests =
        staleMs === 0 ? [] : req.dryRun ? await core.content.staleIngests(staleMs) : await core.content.cleanupStaleIngests(staleMs);
      const gc = core.gc({ dryRun: req.dryRun });
      // Unpacked layer snapshots no image uses (logged: the response lists blobs only); also retries what a delete left.
      await snapshotGc?.collect({ namespace: namespaceOf(call), dryRun: req.dryRun, why: req.dryRun ? 'prune (dry run)' : 'prune' });
      return images.PruneContentResponse.fromPartial({
        removed: gc.removed.map((r) => types.Descriptor.fromPartial({ digest: r.digest, size: r.size })),
        removedIngests,
        reclaimedBytes: gc.bytes,
      });
    }),
  };
}

/** A digest from a request, INVALID_ARGUMENT naming it when malformed. */
export function digestArg(value: string): Digest {
  if (value === '') throw invalidArgument('digest is required');
  try {
    return parseDigest(value).digest;
  } catch (err) {
    throw invalidArgument(messageOf(err), err);
  }
}

/**
 * A label update from labels + field mask (proto/README.md): "labels"
 * replaces all; "labels.<key>" sets that key, or removes it when labels
 * lacks it; no mask means "labels".
 */
export function labelUpdate(
  labels: Labels,
  mask: readonly string[] | undefined,
  what: string,
): { labels: Labels; replace: boolean } {
  const paths = mask ?? [];
  if (paths.length === 0 || paths.includes('labels')) {
    const bad = paths.find((p) => p !== 'labels' && !p.startsWith('labels.'));
    if (bad !== undefined) throw invalidArgument(`${what}: cannot update field ${JSON.stringify(bad)} (only labels)`);
    return { labels, replace: true };
  }
  const update: Labels = {};
  for (const path of paths) {
    if (!path.startsWith('labels.') || path.length === 'labels.'.length) {
      throw invalidArgument(`${what}: cannot update field ${JSON.stringify(path)} (only labels and labels.<key>)`);
    }
    const key = path.slice('labels.'.length);
    update[key] = labels[key] ?? '';
  }
  return { labels: update, replace: false };
}

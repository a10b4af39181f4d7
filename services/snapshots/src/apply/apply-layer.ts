import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chainIdOf } from '../chain-id.js';
import { SnapshotError } from '../errors.js';
import type { Labels } from '../metadata.js';
import type { Snapshotter } from '../snapshotter.js';
import { syncFilesystem } from '../fsops/sync.js';
import { applyTar, type ApplyStats } from './apply-tar.js';

/** Label on the temporary active snapshot a layer is extracted into (value: the chain id). */
export const EXTRACTING_LABEL = 'berth.io/snapshot.extracting';

export type ByteStream = AsyncIterable<Uint8Array>;

export interface ApplyLayerRequest {
  /** Chain id of the layer below (the key it was committed under); none for the first layer. */
  parent?: string;
  /** The layer blob as a stream… */
  stream?: ByteStream;
  /** …or as a file. */
  blobPath?: string;
  mediaType?: string;
  /** The layer's diff_id from the image config; the content is verified against it. */
  expectedDiffId: string;
  /** Labels of the committed snapshot. */
  labels?: Labels;
  /** Key of the temporary active snapshot (default extract-<random> <chainId>). */
  key?: string;
  /** Allow char/block device nodes (default true). */
  allowDevices?: boolean;
}

export interface ApplyLayerResult {
  chainId: string;
  /** False when the chain id was already committed (or another apply committed it first). */
  applied: boolean;
  /** Present when this call applied the layer. */
  stats?: ApplyStats;
}

const inFlight = new WeakMap<Snapshotter, Map<string, Promise<ApplyLayerResult>>>();

function discard(stream: ByteStream | undefined): void {
  const s = stream as { destroy?: () => void } | undefined;
  s?.destroy?.();
}

async function committed(sn: Snapshotter, chainId: string): Promise<boolean> {
  try {
    const info = await sn.stat(chainId);
    if (info.kind !== 'committed') {
      throw new SnapshotError('failed_precondition', `snapshot ${chainId} exists but is ${info.kind}, not a committed layer`);
    }
    return true;
  } catch (err) {
    if (err instanceof SnapshotError && err.code === 'not_found') return false;
    throw err;
  }
}

/**
 * Unpacks one layer as the committed snapshot named by its chain id:
 * prepare a temporary active snapshot (marked in-flight, so a crash leaves
 * nothing a restart keeps), apply, verify the diff_id, sync, commit.
 * Idempotent: an existing chain id is a no-op; concurrent calls for one
 * chain id in this process share one apply, and across processes the loser
 * of the commit drops its copy and reuses the winner's. Any failure removes
 * the temporary snapshot.
 */
export async function applyLayer(sn: Snapshotter, req: ApplyLayerRequest): Promise<ApplyLayerResult> {
  const chainId = chainIdOf(req.parent, req.expectedDiffId);
  if (!req.stream === !req.blobPath) throw new SnapshotError('invalid_argument', 'applyLayer needs exactly one of stream and blobPath');
  let running = inFlight.get(sn);
  if (!running) inFlight.set(sn, (running = new Map()));
  for (;;) {
    if (await committed(sn, chainId)) {
      discard(req.stream);
      return { chainId, applied: false };
    }
    const other = running.get(chainId);
    if (!other) break;
    await other.catch(() => undefined); // if it failed, this call tries with its own stream
  }
  const work = extract(sn, req, chainId);
  running.set(chainId, work);
  try {
    return await work;
  } finally {
    running.delete(chainId);
  }
}

async function extract(sn: Snapshotter, req: ApplyLayerRequest, chainId: string): Promise<ApplyLayerResult> {
  const key = req.key ?? `extract-${randomBytes(6).toString('hex')} ${chainId}`;
  await sn.prepare(key, req.parent, { ...req.labels, [EXTRACTING_LABEL]: chainId }, { inFlight: true });
  try {
    const target = sn.applyTarget(key);
    const input = req.stream ?? createReadStream(req.blobPath!, { highWaterMark: 1 << 20 });
    const { stats } = await applyTar(target, input, {
      expectedDiffId: req.expectedDiffId,
      ...(req.mediaType !== undefined ? { mediaType: req.mediaType } : {}),
      ...(req.allowDevices !== undefined ? { allowDevices: req.allowDevices } : {}),
    });
    await syncFilesystem(target.root);
    try {
      await sn.commit(chainId, key, { ...req.labels });
    } catch (err) {
      if (err instanceof SnapshotError && err.code === 'already_exists') {
        await sn.remove(key);
        return { chainId, applied: false };
      }
      throw err;
    }
    return { chainId, applied: true, stats };
  } catch (err) {
    discard(req.stream);
    await sn.remove(key).catch(() => undefined);
    throw err;
  }
}

/** One layer of an image, in manifest order. */
export interface ImageLayer {
  /** Opens the (compressed) blob; called at most once, and not at all when the layer is already unpacked. */
  open(): ByteStream | Promise<ByteStream>;
  mediaType?: string;
  diffId: string;
}

export interface UnpackResult {
  chainIds: string[];
  layers: ApplyLayerResult[];
}

/** Unpacks an image's layers bottom-up; returns the chain id of each (the last is the image's top snapshot). */
export async function unpackImage(
  sn: Snapshotter,
  layers: readonly ImageLayer[],
  opts: { labels?: Labels; allowDevices?: boolean } = {},
): Promise<UnpackResult> {
  const results: ApplyLayerResult[] = [];
  let parent: string | undefined;
  for (const layer of layers) {
    const chainId = chainIdOf(parent, layer.diffId);
    let result: ApplyLayerResult;
    if (await committed(sn, chainId)) result = { chainId, applied: false };
    else {
      result = await applyLayer(sn, {
        ...(parent !== undefined ? { parent } : {}),
        stream: await layer.open(),
        expectedDiffId: layer.diffId,
        ...(layer.mediaType !== undefined ? { mediaType: layer.mediaType } : {}),
        ...(opts.labels ? { labels: opts.labels } : {}),
        ...(opts.allowDevices !== undefined ? { allowDevices: opts.allowDevices } : {}),
      });
    }
    results.push(result);
    parent = chainId;
  }
  return { chainIds: results.map((r) => r.chainId), layers: results };
}

import { chainIds } from './chain-id.js';
import { SnapshotError } from './errors.js';
import type { Snapshotter } from './snapshotter.js';
import { unpackImage, type ImageLayer } from './apply/apply-layer.js';

export interface UnpackBenchmark {
  layers: number;
  /** Tar entries applied (files, dirs, links, …). */
  entries: number;
  /** Regular file content written. */
  fileBytes: number;
  /** Uncompressed tar bytes read. */
  tarBytes: number;
  compressedBytes: number;
  seconds: number;
  entriesPerSecond: number;
  /** Uncompressed megabytes (10^6) per second. */
  mbPerSecond: number;
}

/**
 * Unpacks an image from scratch and reports throughput (files/s, MB/s) for
 * the pull benchmark. Every layer must be new to this snapshotter, otherwise
 * nothing would be measured; with removeAfter the snapshots go again so the
 * next run starts equal.
 */
export async function benchmarkUnpack(
  sn: Snapshotter,
  layers: readonly ImageLayer[],
  opts: { removeAfter?: boolean } = {},
): Promise<UnpackBenchmark> {
  const ids = chainIds(layers.map((l) => l.diffId));
  const present = (await sn.list()).filter((s) => ids.includes(s.key)).map((s) => s.key);
  if (present.length > 0) {
    throw new SnapshotError('failed_precondition', `benchmark needs an unpack from scratch, but ${present.length} of the layers are already unpacked (${present[0]}…)`);
  }
  const start = process.hrtime.bigint();
  const { layers: results } = await unpackImage(sn, layers);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const sum = (f: (s: NonNullable<(typeof results)[number]['stats']>) => number) =>
    results.reduce((n, r) => n + (r.stats ? f(r.stats) : 0), 0);
  const tarBytes = sum((s) => s.tarBytes);
  const entries = sum((s) => s.entries);
  if (opts.removeAfter) for (const id of [...ids].reverse()) await sn.remove(id);
  return {
    layers: layers.length,
    entries,
    fileBytes: sum((s) => s.fileBytes),
    tarBytes,
    compressedBytes: sum((s) => s.compressedBytes),
    seconds,
    entriesPerSecond: entries / seconds,
    mbPerSecond: tarBytes / 1e6 / seconds,
  };
}

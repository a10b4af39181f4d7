export { Snapshotter, type SnapshotterOptions, type SnapshotInfo, type SnapshotterInfo, type CleanupReport, type PrepareOptions } from './snapshotter.js';
export type { SnapshotKind, Labels, Usage } from './metadata.js';
export { SnapshotError, LayerError, type SnapshotErrorCode } from './errors.js';
export { parseFilters } from './filters.js';
export type { DriverName, ApplyTarget, DiffSource } from './drivers/driver.js';
export { chainIdOf, chainIds, isSha256Digest } from './chain-id.js';
export { applyTar, type ApplyOptions, type ApplyResult, type ApplyStats } from './apply/apply-tar.js';
export {
  applyLayer,
  unpackImage,
  EXTRACTING_LABEL,
  type ApplyLayerRequest,
  type ApplyLayerResult,
  type ImageLayer,
  type UnpackResult,
  type ByteStream,
} from './apply/apply-layer.js';
export { applyToActive, type ApplyToActiveRequest } from './apply/apply-to-active.js';
export { diffSnapshot, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD, type DiffOptions, type DiffResult } from './diff.js';
export { benchmarkUnpack, type UnpackBenchmark } from './bench.js';

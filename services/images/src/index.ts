// Public API of the images service core (the gRPC service wraps it).
export { ImagesCore, type ImagesCoreOptions } from './core.js';
export { ImagesError, statusCodeOf, messageOf, type ImagesErrorCode } from './errors.js';
export { openImagesDb, type Store } from './db.js';
export type { ImagesEvent, ImagesEventType, EventSink } from './events.js';
export { parseFilters, type Filter, type FieldAdaptor } from './filters.js';
export type { Labels } from './labels.js';

export { ContentStore, type WriterOptions, type ReadOptions } from './content/store.js';
export { ContentWriter, ContentMismatchError, type CommitOptions } from './content/writer.js';
export type { ContentInfo, IngestStatus } from './content/types.js';

export {
  ImageStore,
  normalizeImageName,
  validateImageName,
  validateNamespace,
  type ImageRecord,
  type NewImage,
  type ImageUpdate,
} from './images.js';
export { LeaseManager, type Lease, type LeaseResource, type CreateLeaseOptions } from './leases.js';
export { collectGarbage, markReachable, removeUnreferenced, type GcDeps, type GcResult } from './gc.js';
export {
  pull,
  SOURCE_LABEL_PREFIX,
  type PullDeps,
  type PullOptions,
  type PullResult,
  type PullResolution,
  type Unpacker,
  type UnpackRequest,
} from './pull.js';
export type { PullProgress, LayerProgress, LayerState } from './progress.js';
export { push, type PushDeps, type PushOptions, type PushResult } from './push.js';
export { walkImage, childrenOfDocument, type WalkEntry } from './walk.js';

export {
  RegistryClient,
  parseReferenceArg,
  type RegistryClientOptions,
  type ResolvedManifest,
  type FetchBlobOptions,
  type PushBlobOptions,
  type PushBlobResult,
} from './registry/client.js';
export { RegistryError, redactUrl, certificateError } from './registry/errors.js';
export { hostsFromConfig, schemeFor, type RegistryHostOptions, type RegistryHostConfig } from './registry/hosts.js';
export { safeLogger, loggableError, SECRET_LOG_PATHS, type LoggableError } from './log-safety.js';
export { parseWwwAuthenticate, type Challenge } from './registry/auth.js';
export { DEFAULT_TIMEOUTS, type Timeouts } from './registry/http.js';
export { DEFAULT_RETRY, backoffDelay, parseRetryAfter, type RetryPolicy } from './registry/retry.js';
export {
  readDockerConfig,
  writeDockerConfig,
  credentialsFor,
  setCredentials,
  removeCredentials,
  dockerConfigCredentials,
  defaultDockerConfigPath,
  authKeyFor,
  type DockerConfigFile,
  type DockerAuthEntry,
  type Credentials,
} from './registry/docker-config.js';

export { exportImages, type ArchiveFormat, type ExportDeps, type ExportOptions, type ExportResult } from './archive/export.js';
export { importArchive, type ImportDeps, type ImportOptions, type ImportResult } from './archive/import.js';

export { resolveImage, type ResolvedImage } from './resolve.js';
export { SnapshotHolds, type SnapshotHold } from './snapshot-holds.js';
export { referencedChainIds } from './snapshot-refs.js';
export {
  UNPACKED_BY_LABEL,
  UNPACKED_BY,
  isUnpackedSnapshot,
  planSnapshotGc,
  type SnapshotNode,
  type SnapshotGcPlan,
} from './snapshot-plan.js';
export { snapshotCollector, type SnapshotCollector, type SnapshotGcDeps, type SnapshotGcResult } from './grpc/snapshot-gc.js';
export { normalizeRegistryHost, type LoginResult } from './registry/login.js';
export { busEventOf, busEventSink, type BusEvent, type BusEventSink } from './bus-events.js';
export { imagesServiceSpec, imagesConfigSchema, type ImagesConfig } from './service.js';

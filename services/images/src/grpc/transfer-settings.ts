// What the Transfer handlers need besides the core.
import type { RegistryClientOptions } from '../registry/client.js';
import type { SnapshotHolds } from '../snapshot-holds.js';
import type { Operations } from './operations.js';
import type { SnapshotsTarget } from './unpack.js';

export interface TransferSettings {
  /** Options every registry client starts from (insecure registries, credentials from the docker config). */
  registryBase: RegistryClientOptions;
  /** Blobs fetched or uploaded at once when a request does not say. */
  concurrency: number;
  /** Whether a request asking to unpack does (false when this node is configured not to unpack). */
  unpackWanted(asked: boolean, what: string): boolean;
  /** Snapshotter used when a request names none. */
  snapshotter: string;
  snapshots: SnapshotsTarget;
  /** Where unpacks protect their snapshots from the snapshot GC. */
  holds: SnapshotHolds;
  /** Minimum interval between progress messages of a stream. */
  progressIntervalMs: number;
  /** Where pulls, pushes, imports and exports register, so shutdown waits for them. */
  operations: Operations;
}

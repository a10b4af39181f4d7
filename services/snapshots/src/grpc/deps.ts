import type { Logger } from '@berth/telemetry';
import type { Snapshotter } from '../snapshotter.js';
import type { ContentPeer } from './content-peer.js';
import type { SnapshotEvents } from './events.js';
import type { RpcAdapters } from './status.js';

/** What the gRPC handlers work with. */
export interface HandlerDeps {
  sn: Snapshotter;
  /** The one snapshotter this service offers (its driver's name). */
  snapshotter: string;
  events: SnapshotEvents;
  content: ContentPeer;
  rpc: RpcAdapters;
  logger: Logger;
  /** Namespace of requests that name none (events). */
  defaultNamespace: string;
  allowDevices: boolean;
  gzipLevel: number;
  /** Where computed layers are staged before they go to the content store. */
  scratchDir: string;
}

// What the lifecycle code depends on: neighbours (ports), the store, the
// event sink, settings and a clock.
import type { Store } from '@berth/store';
import type { BackoffSettings } from '../restart-policy.js';
import type { AgentDirectory, EventSink, ImagesPort, NetworkingPort, NodeAvailability, RootfsReader, SnapshotsPort } from '../ports.js';
import type { OciDevice } from '../spec/oci.js';
import type { HostLimits } from '../validate.js';

/** The logging calls the service makes (pino's shape). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Facts about the node the service runs on. */
export interface HostFacts extends HostLimits {
  hostname: string;
  /** The memory cgroup accounts swap. */
  swapAccounting: boolean;
  /** Host devices a privileged container gets. */
  hostDevices(): OciDevice[];
}

export interface TasksSettings {
  /** The node this service's containers live on. */
  nodeId: string;
  /** Namespace of events that belong to no container's namespace (nodes, orphaned tasks). */
  eventNamespace: string;
  /** The service's state directory: logs and volumes live below it. */
  stateDir: string;
  /** Parent cgroup of containers, e.g. "/berth": a container's cgroup is <parent>/<id>. */
  cgroupParent: string;
  /** Host path of the init binary for `--init`; undefined when none is installed. */
  initBinary: string | undefined;
  host: HostFacts;
  backoff: BackoffSettings;
  /** Rotate a container's log at this size; 0 for never. */
  logMaxBytes: number;
  /** Rotated log files kept. */
  logMaxFiles: number;
  /** Seconds between the stop signal and SIGKILL when neither the request nor the container says. */
  defaultStopTimeoutSeconds: number;
  /** How long to wait for an exit after SIGKILL before reporting the agent as unresponsive. */
  killGraceMs: number;
}

export interface TasksDeps {
  db: Store;
  agents: AgentDirectory;
  images: ImagesPort;
  snapshots: SnapshotsPort;
  networking: NetworkingPort;
  rootfs: RootfsReader;
  events: EventSink;
  nodes: NodeAvailability;
  logger: Logger;
  settings: TasksSettings;
  now?: () => number;
}

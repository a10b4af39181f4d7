// What the lifecycle code depends on: neighbours (ports), the store, the
// event sink, settings and a clock.
import type { Store } from '@berth/store';
import type { BackoffSettings } from '../restart-policy.js';
import type { AgentDirectory, EventSink, ImagesPort, NetworkingPort, NodeAvailability, SnapshotsPort } from '../ports.js';
import type { HostLimits } from '../validate.js';

/** The logging calls the service makes (pino's shape). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Facts about the node the service runs on, which stand for its containers'
 * node. What must be true of the node that runs runc (bind sources, devices,
 * users in the rootfs, capabilities) is the agent's to check, not these.
 */
export interface HostFacts extends HostLimits {
  hostname: string;
  /** The memory cgroup accounts swap. */
  swapAccounting: boolean;
  /** Hard open-files limit: a container's RLIMIT_NOFILE is capped at it; undefined when unlimited. */
  nofileHardLimit: number | undefined;
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
  events: EventSink;
  nodes: NodeAvailability;
  logger: Logger;
  settings: TasksSettings;
  now?: () => number;
}

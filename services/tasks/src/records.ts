// What the tasks service remembers of a container (see store/containers.ts).
import type { ImageRuntimeConfig } from '@berth/oci';
import type { tasks, types } from '@berth/api';
import type { NameFiles, OciSpec } from '@berth/runtime-spec';

/**
 * Lifecycle phase. "creating" and "removing" are transitional and never
 * survive a restart: reconcile() finishes or undoes them.
 */
export type ContainerPhase = 'creating' | 'created' | 'running' | 'paused' | 'restarting' | 'stopped' | 'removing';

/** Whether the node's agent holds a task (with its netns and attachments) for the container. */
export type TaskPresence = 'none' | 'creating' | 'present';

/** How the last task ended. */
export interface ExitInfo {
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  /** Milliseconds since the epoch. */
  exitedAt: number;
}

/** One network the container's task is attached to. */
export interface NetworkAttachmentSummary {
  network: string;
  interfaceName: string;
  /** CIDR. */
  address: string;
  gateway: string;
  macAddress: string;
  ports: types.PortMapping[];
}

export interface ContainerRecord {
  id: string;
  namespace: string;
  name: string;
  phase: ContainerPhase;
  task: TaskPresence;
  /** Image reference as given. */
  imageRef: string;
  /** Normalised image name. */
  imageName: string;
  /** Digest of the image config. */
  imageId: string;
  /** Resolved image target (index or manifest). */
  imageTarget: types.Descriptor;
  /** Chain id of the image's top layer: the parent of the writable snapshot. */
  chainId: string;
  snapshotter: string;
  snapshotKey: string;
  /** What the user asked for, image_target and snapshot_key filled in. */
  spec: tasks.ContainerSpec;
  /** The image config's runtime defaults. */
  imageConfig: ImageRuntimeConfig;
  /** The container's runtime spec, without task-time additions (netns, name files). */
  runtimeSpec: OciSpec;
  nodeId: string;
  logPath: string;
  createdAt: number;
  updatedAt: number;
  pid: number;
  startedAt: number | undefined;
  exit: ExitInfo | undefined;
  /** Restarts by the restart policy since the user last started the container. */
  restartCount: number;
  /** Delay before the last policy restart (backoff state); 0 after a reset. */
  restartDelayMs: number;
  /** When a pending policy restart is due (phase "restarting"). */
  restartAt: number | undefined;
  /** The user stopped the container: no policy restart until the next user start. */
  stoppedByUser: boolean;
  netnsPath: string;
  networks: NetworkAttachmentSummary[];
  nameFiles: NameFiles | undefined;
  /** Why the last start failed; empty otherwise. */
  error: string;
  /** With phase "removing": keep the logs when the removal completes. */
  keepLogsOnRemove: boolean;
}

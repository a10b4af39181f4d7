// The tasks service's neighbours, behind the small interfaces its decisions
// need. Production implementations (adapters/) are thin wrappers over the
// neighbours' generated gRPC clients; tests use fakes. Every method throws
// errors carrying the neighbour's gRPC status code.
import type { agent, types } from '@berth/api';
import type { ImageRuntimeConfig } from '@berth/oci';
import type { NameFiles, OciLinuxResources, OciProcess, OciSpec } from '@berth/runtime-spec';

/** An image resolved for one platform. */
export interface ResolvedImage {
  /** Normalised name, e.g. "docker.io/library/busybox:latest". */
  name: string;
  /** What the name points at (index or manifest). */
  target: types.Descriptor;
  /** Digest of the image config: the image id. */
  configDigest: string;
  /** The config's runtime defaults (entrypoint, cmd, env, user, ...). */
  config: ImageRuntimeConfig;
  /** Chain id of the top layer: the parent of a container's snapshot. */
  chainId: string;
}

export interface ImagesPort {
  /** Resolves an image reference (name or id) for a platform (the host's when unset); NOT_FOUND when absent. */
  resolve(namespace: string, reference: string, platform: types.Platform | undefined): Promise<ResolvedImage>;
}

/** Label put on a container's writable snapshot: its container's id. */
export const SNAPSHOT_CONTAINER_LABEL = 'org.berth.container.id';
/** Label put on a container's writable snapshot: the node of the tasks service holding its record (whose reconcile may remove it once no record names it). */
export const SNAPSHOT_OWNER_LABEL = 'org.berth.tasks.node';

export interface SnapshotsPort {
  /** Creates the writable snapshot `key` on top of `parent` and returns its mounts. */
  prepare(
    namespace: string,
    req: { snapshotter: string; key: string; parent: string; labels: Record<string, string> },
  ): Promise<types.Mount[]>;
  /** The mounts of an existing active snapshot. */
  mounts(namespace: string, snapshotter: string, key: string): Promise<types.Mount[]>;
  /** Removes a snapshot; false when there was none. */
  remove(namespace: string, snapshotter: string, key: string): Promise<boolean>;
  /** The writable snapshots of containers whose records the tasks service of node `owner` holds (by their labels), of every namespace. */
  listContainerSnapshots(snapshotter: string, owner: string): Promise<{ key: string; containerId: string }[]>;
}

/** A container's attachment to one network, as the networking service made it. */
export interface Attachment {
  network: string;
  interfaceName: string;
  /** Addresses in CIDR notation with their gateway. */
  ips: { address: string; gateway: string }[];
  macAddress: string;
  /** Published ports with host ports resolved. */
  ports: types.PortMapping[];
}

export interface AttachRequest {
  containerId: string;
  containerName: string;
  netnsPath: string;
  /** Network name or id; "" for the default bridge. */
  network: string;
  aliases: string[];
  ipAddress: string;
  ports: types.PortMapping[];
  interfaceName: string;
}

export interface DnsRequest {
  containerId: string;
  hostname: string;
  domainname: string;
  extraHosts: string[];
  dns: types.DnsConfig | undefined;
  hostNetwork: boolean;
}

export interface NetworkingPort {
  /** Connects a container's netns to a network (CNI ADD, ports). */
  attach(namespace: string, req: AttachRequest): Promise<Attachment>;
  /** Disconnects a container from one network, or from all when `network` is undefined; nothing to do is fine. */
  detach(namespace: string, containerId: string, network?: string): Promise<void>;
  /** Writes the container's /etc/hosts, /etc/hostname, /etc/resolv.conf and returns their host paths. */
  prepareDns(namespace: string, req: DnsRequest): Promise<NameFiles>;
  /** Removes the container's name files; nothing to do is fine. */
  removeDns(namespace: string, containerId: string): Promise<void>;
  /**
   * Releases the node's network resources (attachments, netns, name files) of
   * every container not in `liveContainerIds`; what failed is listed, not thrown.
   */
  reconcile(namespace: string, liveContainerIds: string[], node: string): Promise<NetworkReconcileResult>;
}

/** What a networking reconcile released, and what it could not. */
export interface NetworkReconcileResult {
  /** Attachments released, as "<container id>/<network>". */
  released: string[];
  /** Containers whose netns was removed. */
  netnsRemoved: string[];
  /** Containers whose name files were removed. */
  nameFilesRemoved: string[];
  failures: { containerId: string; network: string; resource: string; error: string }[];
}

export type AgentTaskStatus = 'created' | 'running' | 'paused' | 'stopped';

/** What a node's agent knows of a task. */
export interface AgentTask {
  containerId: string;
  status: AgentTaskStatus;
  pid: number;
  /** How the init process ended (stopped tasks only). */
  exitStatus: types.ExitStatus | undefined;
  execIds: string[];
}

/** How a process's stdio is wired by the agent's monitor. */
export interface StdioOptions {
  terminal: boolean;
  stdin: boolean;
  /** Log file for stdout/stderr; "" to discard unattached output. */
  logPath: string;
  logMaxBytes: number;
  logMaxFiles: number;
}

/** A bidirectional attach stream to a process's stdio through its monitor. */
export interface AttachStream extends AsyncIterable<agent.AttachTaskResponse> {
  /**
   * Settles once the agent has connected the process's stdio (it then sends
   * its response headers), or the stream ended or failed without that (the
   * iteration then says how). Never rejects.
   */
  connected: Promise<void>;
  send(frame: agent.AttachTaskRequest): void;
  /** Half-closes the client side. */
  end(): void;
  /** Abandons the stream. */
  cancel(): void;
}

/** What the agent needs to create a container's task. */
export interface CreateTaskRequest {
  containerId: string;
  /** The spec, process.user unresolved. */
  spec: OciSpec;
  /** Mounts assembling the rootfs. */
  rootfs: types.Mount[];
  stdio: StdioOptions;
  /** The user to run as ("", "name", "uid", "name:group", "uid:gid"), resolved by the agent in the mounted rootfs. */
  user: string;
  /** Privileged: the agent adds its node's devices and every capability it holds. */
  privileged: boolean;
  /** Volume directories the agent fills from the mounted rootfs at `path`, each only while empty. */
  copyUps: { path: string; target: string }[];
}

/** What the agent needs to define an exec process. */
export interface ExecProcessRequest {
  containerId: string;
  execId: string;
  /** The process, user unresolved. */
  process: OciProcess;
  stdio: StdioOptions;
  /** The user to run as, resolved by the agent in the container's rootfs. */
  user: string;
  /** Every capability the agent holds. */
  privileged: boolean;
}

/** One node's agent. */
export interface AgentPort {
  /** Creates the container's network namespace; returns its path. */
  createNetns(containerId: string): Promise<string>;
  /** Removes the container's network namespace; a missing one is fine. */
  removeNetns(containerId: string): Promise<void>;
  createTask(req: CreateTaskRequest): Promise<{ pid: number }>;
  /** Starts the init process (execId "") or an exec process; returns its pid. */
  startTask(containerId: string, execId: string): Promise<number>;
  killTask(containerId: string, execId: string, signal: number, all: boolean): Promise<void>;
  /** Removes a task or exec process (killing it first with force); undefined when there was none. */
  deleteTask(containerId: string, execId: string, force: boolean): Promise<types.ExitStatus | undefined>;
  /** One task, or undefined when the agent has none for the container. */
  getTask(containerId: string): Promise<AgentTask | undefined>;
  listTasks(): Promise<AgentTask[]>;
  /** Blocks until the process exits; rejects when `signal` aborts. */
  waitTask(containerId: string, execId: string, signal: AbortSignal): Promise<types.ExitStatus>;
  execProcess(req: ExecProcessRequest): Promise<void>;
  pauseTask(containerId: string): Promise<void>;
  resumeTask(containerId: string): Promise<void>;
  listPids(containerId: string): Promise<types.ProcessInfo[]>;
  stats(containerId: string): Promise<types.TaskStats>;
  resizePty(containerId: string, execId: string, size: types.TtySize): Promise<void>;
  updateResources(containerId: string, resources: OciLinuxResources): Promise<void>;
  attach(): AttachStream;
}

/** The agents of every node the service routes work to. */
export interface AgentDirectory {
  /** The agent of a node; UNAVAILABLE when the node is unknown. */
  forNode(nodeId: string): AgentPort;
}

/** Where events go (the bus). */
export interface EventSink {
  /**
   * Publishes an event on `berth.<namespace>.events.<type>` with a JSON
   * payload (the proto JSON form of the type's message in @berth/api's
   * eventPayloads); `durable` ones must be stored by JetStream before this
   * resolves, deduplicated by `id` when given.
   */
  publish(namespace: string, type: string, payload: unknown, options: { durable: boolean; id?: string }): Promise<void>;
}

/** Node reachability as heartbeats tell it. */
export interface NodeAvailability {
  /** False only for a node that heartbeated and then fell silent. */
  isAvailable(nodeId: string): boolean;
}

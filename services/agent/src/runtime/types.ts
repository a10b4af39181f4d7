// The data types of the container runtime API.
import type { OciProcess, OciSpec } from '@berth/runtime-spec';
import type { CgroupSystem } from '../cgroups/layout.js';
import type { Mount as MountSpec, MountTools } from '@berth/mount';
import type { AttachSession } from './attach.js';
import type { ExitStatus } from './exit-status.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** Host pid of the container's init process, while it lives. */
  pid?: number;
  /** Host pid of the container's conmon, while it lives. */
  monitorPid?: number;
  bundle: string;
  rootfs: string;
  tty: boolean;
  stdin: boolean;
  logPath: string;
  createdAt: string;
  /** Set once stopped, when the exit code is known. */
  exit?: ExitStatus;
  /** Why a stopped container has no exit status. */
  error?: string;
}

/** A volume directory to fill from the rootfs at a container path. */
export interface VolumeCopyUp {
  /** Path inside the container. */
  path: string;
  /** Absolute host directory of the volume's data. */
  target: string;
}

export interface CreateOptions {
  /** An existing bundle directory; default: one inside the container's state dir. */
  bundle?: string;
  /** The OCI runtime spec; written atomically to <bundle>/config.json. process.terminal follows `tty`. */
  spec: OciSpec;
  /**
   * As `docker run -u` ("", "name", "uid", "name:group", "uid:gid"): resolved
   * against the mounted rootfs's /etc/passwd and /etc/group into
   * process.user, and HOME unless the env sets it. Unset: process.user as given.
   */
  user?: string;
  /** A privileged container: every device node of this node's /dev and every capability the agent holds. */
  privileged?: boolean;
  /** Mounted (in order) onto <bundle>/<root.path> before create, unmounted at delete. */
  rootfsMounts?: MountSpec[];
  /** Volumes to fill from the rootfs before create, each only if empty (see spec/copy-up.ts). */
  copyUps?: VolumeCopyUp[];
  /** Give the process a terminal (conmon holds the pty master). Default: spec.process.terminal. */
  tty?: boolean;
  /** Keep the process' stdin open for attach. */
  stdin?: boolean;
  /** Close stdin when the first attached client detaches (docker run -i). Default true. */
  stdinOnce?: boolean;
  /** The k8s-file log; default <state dir>/container.log. */
  logPath?: string;
  /** Rotate the log at this many bytes (0 = never; the default). See logs/rotate.ts. */
  logMaxSize?: number;
  /** Log files kept by rotation, the live one included; default 3. */
  logMaxFiles?: number;
}

export interface ExecOptions {
  args: string[];
  /** KEY=VALUE, added to (or replacing) the container's env; a bare KEY removes it. */
  env?: string[];
  cwd?: string;
  /**
   * As `docker exec -u`: "name", "uid", "name:group", "uid:gid"; resolved in
   * the container's rootfs, also over a given `process`. Unset: the
   * container's user (or the given process's).
   */
  user?: string;
  tty?: boolean;
  /** Keep stdin open (needs attach to feed it). */
  stdin?: boolean;
  /** Attach to the session's stdio before the process starts (no output is missed). */
  attach?: boolean;
  /** Every capability the agent holds, replacing the process's (`exec --privileged`, or in a privileged container). */
  privileged?: boolean;
  /** Default: random. */
  execId?: string;
  /**
   * A complete OCI process, as a caller that builds its own (the tasks
   * service) sends it: used as is, except that `terminal` follows `tty` and
   * `user`, when given, is resolved over it; args, env and cwd above are
   * then ignored.
   */
  process?: OciProcess;
}

export type ExecStatus = 'created' | 'running' | 'stopped';

export interface ExecState {
  execId: string;
  /** created: defined by createExec, not started yet. */
  status: ExecStatus;
  /** Host pid of the exec'd process, once started. */
  pid?: number;
  /** Set once stopped. */
  exit?: ExitStatus;
}

export interface ExecSession {
  execId: string;
  /** Host pid of the exec'd process. */
  pid: number;
  /** The session's k8s-file log (stdout and stderr records). */
  logPath: string;
  /** Present when ExecOptions.attach was set. */
  attach: AttachSession | undefined;
  wait(signal?: AbortSignal): Promise<ExitStatus>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RecoverReport {
  /** Containers found, with their state now (running ones still run). */
  containers: ContainerState[];
  /** State dirs of creates that never completed, removed. */
  removedIncomplete: string[];
  /** runc containers without a state dir, force-deleted. */
  removedOrphans: string[];
}

/** Minimal pino-compatible logger. */
export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ContainerRuntimeOptions {
  /** The agent's state root; containers live under <root>/containers. */
  root: string;
  /** Default /usr/sbin/runc. */
  runtimePath?: string;
  /** Default /usr/bin/conmon. */
  conmonPath?: string;
  /** runc --root; default <root>/runc. */
  runtimeRoot?: string;
  /** Runs the attach bridge and the mount helper; default /usr/bin/perl. */
  perlPath?: string;
  /** How rootfs mounts are made; default: overlays and unmounts by system call (MountSyscalls), the rest by mount(8). */
  mountTools?: MountTools;
  logger?: RuntimeLogger;
  /** How long runc create/exec may take before the agent gives up; default 60 s. */
  startTimeoutMs?: number;
  /** Poll interval backing inotify when waiting for exits; default 500 ms. */
  pollMs?: number;
  /** How long delete waits for the monitor to record the exit; default 10 s. */
  stopTimeoutMs?: number;
  /** Cgroup layout override (tests); default read from /proc/self/mountinfo. */
  cgroupSystem?: CgroupSystem;
}

// @berth/agent-service: the node agent's core, as plain modules the gRPC
// layer wires up. See runtime/container-runtime.ts for the container API.

export {
  ContainerRuntime,
  type ContainerRuntimeOptions,
  type ContainerState,
  type ContainerStatus,
  type CreateOptions,
  type ExecDefinition,
  type ExecOptions,
  type ExecState,
  type ExecStatus,
  type ExecResult,
  type ExecSession,
  type RecoverReport,
  type RuntimeLogger,
} from './runtime/container-runtime.js';
export type { AttachSession } from './runtime/attach.js';
export type { TerminalSize } from './runtime/checks.js';
export type { ExitStatus } from './runtime/exit-status.js';
export { parseSignal, signalName } from './runtime/signals.js';
export { classifyExecFailure, type ExecFailure } from './runtime/exec-errors.js';
export { runtimeLayout, containerPaths, validateId, type RuntimeLayout, type ContainerPaths } from './runtime/layout.js';

export { ContainerError, MountError, SpecError, isContainerError, type ContainerErrorCode } from './errors.js';

export { mountAll, unmountAll, isMountPoint, mountsUnder, type Mount as MountSpec, type MountTools } from '@berth/mount';

// Spec building and user resolution live in @berth/runtime-spec; these are the node's side of them.
export { resolveInRoot, readFileInRoot, RootfsFileError } from './spec/rootfs-path.js';
export { resolveUserInRootfs } from './spec/rootfs-user.js';
export { listHostDevices } from './spec/host-devices.js';

export { type CgroupStats, readCgroupStats } from './cgroups/stats.js';
export {
  readCgroupSystem,
  parseCgroupMounts,
  cgroupSystemFromMounts,
  containerCgroupFromPath,
  containerCgroupFromProc,
  type CgroupSystem,
  type ContainerCgroup,
} from './cgroups/layout.js';

export { readLogs, followLogs, type ReadLogsOptions, type FollowLogsOptions } from './logs/read.js';
export { parseLogRecord, parseLogText, parseTimestampNs, type LogLine, type LogRecord, type LogStream } from './logs/k8s-log.js';
export { rotateIfNeeded, shiftLogFiles, existingLogFiles } from './logs/rotate.js';

export { agentSpec } from './service.js';
export { agentConfigSchema, type AgentConfig } from './config.js';
export { EXIT_CODE_METADATA_KEY } from './grpc/errors.js';
export { NAMESPACE_ANNOTATION } from './events/namespaces.js';

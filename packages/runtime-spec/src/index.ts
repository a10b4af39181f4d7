// @berth/runtime-spec: the OCI runtime spec of a container, built the way
// Docker builds it, and the pure pieces around it (users, signals, env).
export * from './types.js';
export { SpecError } from './errors.js';
export {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_DEVICE_RULES,
  DEFAULT_NETWORK_SYSCTLS,
  DEFAULT_PATH,
  DEFAULT_SHM_BYTES,
  DOCKER_NOFILE,
  INIT_PATH_IN_CONTAINER,
  MASKED_PATHS,
  READONLY_PATHS,
  STOP_SIGNAL_ANNOTATION,
  defaultNofile,
  standardMounts,
} from './defaults.js';
export { capabilitiesFromMask, capabilitySet, normalizeCapability, type CapabilityOptions } from './capabilities.js';
export { checkEnv, envKey, hasEnv, mergeEnv } from './env.js';
export { SIGRTMAX, SIGRTMIN, signalName, signalNumber } from './signals.js';
export {
  MAX_ID,
  ociUser,
  parseGroup,
  parsePasswd,
  parseUserSpec,
  resolveUser,
  withUser,
  type GroupEntry,
  type PasswdEntry,
  type ResolveUserOptions,
  type ResolvedUser,
  type UserSpec,
} from './user.js';
export { PROPAGATIONS, absolutePath, combineMounts, userMount, userMounts, type MountOption } from './mounts.js';
export { CPU_PERIOD_US, linuxResources, type ResourceHostFacts, type ResourceLimits } from './resources.js';
export {
  buildExecProcess,
  checkExecOptions,
  commandLine,
  type CommandOptions,
  type ExecProcessOptions,
  type ImageDefaults,
} from './process.js';
export {
  buildSpec,
  defaultHostname,
  type BuildSpecOptions,
  type NetworkOption,
  type SpecHostFacts,
  type Ulimit,
} from './build.js';
export { withTaskEnvironment, type NameFiles } from './task-environment.js';
export { parseNofileHardLimit, readNofileHardLimit } from './host.js';

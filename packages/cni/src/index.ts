export {
  DEFAULT_CACHE_DIR,
  DEFAULT_PLUGIN_DIRS,
  DEFAULT_TIMEOUT_MS,
  resolveCniConfig,
  type CniCommand,
  type CniConfig,
  type CniDns,
  type CniInterface,
  type CniIpConfig,
  type CniResult,
  type CniRoute,
  type NetworkConfigList,
  type PluginConf,
  type ResolvedCniConfig,
  type RuntimeConf,
} from './types.js';
export { CniDelError, CniInvocationError, CniPluginError, ForeignResourceError, type InvocationFailure } from './errors.js';
export { buildPluginConfig, compareVersions, parseConflist } from './conflist.js';
export {
  cniAdd,
  cniCheck,
  cniDel,
  cniDelCached,
  getCachedAttachment,
  listCachedAttachments,
  resolveNetnsPath,
} from './cni.js';
export { cacheFilePath, type AttachmentKey, type CachedAttachment } from './cache.js';
export { findPlugin, formatCniArgs } from './plugin-exec.js';
export { NETNS_DIR, createNetns, listNetns, netnsExists, netnsPath, removeNetns, type Netns } from './netns.js';
export { masqueradeChainName, sweepMasquerade } from './masquerade.js';
export { assertBridgeOrAbsent, deleteLink, linkExists, listLinks, removeBridge, type LinkInfo } from './links.js';
export {
  HOST_LOCAL_DEFAULT_DATA_DIR,
  assertHostLocalStateDir,
  hostLocalStateDir,
  listHostLocalReservations,
  removeHostLocalState,
  type HostLocalReservation,
} from './host-local.js';
export {
  networkHostResources,
  removeNetworkResources,
  type NetworkHostResources,
  type RemovedNetworkResources,
} from './network-resources.js';
export {
  DEFAULT_NETNS_PREFIX,
  containerNetnsName,
  containerOfNetns,
  validateContainerId,
  validateNetnsPrefix,
  validateIfname,
  validateNetnsName,
  validateNetworkName,
  validatePluginType,
} from './names.js';

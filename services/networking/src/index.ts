export {
  NetworkingService,
  type AttachPlan,
  type AttachRequest,
  type DetachPlan,
  type Logger,
  type NetworkInspect,
  type NetworkingEvent,
  type NetworkingServiceOptions,
  type ReconcileFailure,
  type ReconcileReport,
} from './service.js';
export { localCniExecutor, type CniExecutor, type ContainerNetns } from './executor.js';
export { NetworkingError, type NetworkingErrorCode } from './errors.js';
export {
  DEFAULT_BRIDGE,
  DEFAULT_NETWORK_NAME,
  HOST_NETWORK,
  NONE_NETWORK,
  type Attachment,
  type AttachmentState,
  type CreateNetworkRequest,
  type Network,
  type NetworkDriver,
  type SubnetConfig,
  type SubnetRequest,
} from './network-model.js';
export { normaliseCreateRequest, rangeCapacity, validateNetworkName, validateOptions } from './network-validation.js';
export { buildConflist, conflistHasDefaultRoute, CNI_VERSION } from './conflist.js';
export {
  cidrContains,
  cidrContainsCidr,
  cidrsOverlap,
  formatCidr,
  formatIp,
  isIp,
  parseCidr,
  parseIp,
  usableRange,
  type Cidr,
  type IpAddress,
  type IpFamily,
} from './ip/cidr.js';
export { allocateSubnet, DEFAULT_SUBNET_POOLS, type SubnetPool } from './ip/subnet-pool.js';
export { readHostRoutes, routeDestinations } from './ip/host-routes.js';
export {
  bindingsCollide,
  formatBinding,
  parsePortSpec,
  publishAllRequests,
  toPortmapEntry,
  type PortMapping,
  type PortProtocol,
  type PortRequest,
} from './ports.js';
export { allocatePorts, probeHostPort, type PortInUse } from './port-allocation.js';
export {
  buildContainerFiles,
  type ContainerFiles,
  type ContainerFilesInput,
  type ContainerFilesOptions,
} from './names/container-files.js';
export { buildHostnameFile, buildHostsFile, parseAddHost, validateHostname, type HostsEntry } from './names/hosts.js';
export { buildResolvConf, parseResolvConf, isLoopback, type ResolvConf } from './names/resolv-conf.js';
export {
  DnsFormatError,
  RCode,
  RRClass,
  RRType,
  addressRecord,
  buildQuery,
  encodeMessage,
  parseMessage,
  recordAddress,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
} from './dns/message.js';
export { EmbeddedDnsServer, type DnsUpstream, type EmbeddedDnsOptions, type NameAnswer } from './dns/server.js';
export { hostUpstreams } from './dns/upstreams.js';
export { networkingServiceSpec } from './service-spec.js';
export { networkingConfigSchema, parseUpstream, type NetworkingConfig } from './config.js';
export { agentCniExecutor, AgentCallError, CNI_ERROR_TRAILER, type AgentCniFailure, type AgentExecutorOptions } from './agent-executor.js';
export { busEventOf, EventPublisher, type BusEvent } from './events.js';
export { ContainerFilesStore, type FilePaths, type FilesRequest } from './names/files-store.js';

// @berth/api: berth's gRPC contract for @grpc/grpc-js, generated from proto/
// by ts-proto (src/gen), one namespace per proto package, plus the helpers
// every service and client shares.
//
// The root loads every namespace. A program that starts often (the CLI)
// imports only what it uses from the subpaths instead: "@berth/api/tasks",
// "@berth/api/images", ..., "@berth/api/metadata", "@berth/api/timestamps",
// and "@berth/api/descriptors" for the descriptor set (see package.json).
export * as images from './images.js';
export * as snapshots from './snapshots.js';
export * as tasks from './tasks.js';
export * as networking from './networking.js';
export * as agent from './agent.js';
export * as types from './types.js';
export * as events from './events.js';
export { Timestamp } from './gen/google/protobuf/timestamp.js';

// kept here for existing users; proto-loader loads only when it is called
export { descriptorSetPath, loadPackageDefinition } from './descriptors.js';
export { methodDisplayName, unimplementedHandlers, withUnimplemented } from './unimplemented.js';
export {
  serviceDefinitions,
  serviceNameOf,
  serviceNames,
  serviceNamesByComponent,
  type Component,
} from './services.js';
export {
  eventPayloads,
  isEventType,
  type EventPayload,
  type EventPayloads,
  type EventType,
  type PayloadCodec,
} from './event-types.js';
export { dateFromTimestamp, nanosFromTimestamp, timestampFromDate, timestampFromNanos } from './timestamps.js';
export { DEFAULT_NAMESPACE, NAMESPACE_METADATA_KEY } from './metadata.js';

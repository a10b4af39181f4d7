// @berth/tasks-service: container records, the task lifecycle and its
// decisions, nodes, and the bus API, as modules the process (main.ts) wires.
export { TasksEngine } from './engine.js';
export { setupTasksService } from './service.js';
export { tasksConfigSchema, type TasksConfig } from './config.js';
export type {
  AgentDirectory,
  AgentPort,
  AgentTask,
  AgentTaskStatus,
  Attachment,
  AttachRequest,
  AttachStream,
  CreateTaskRequest,
  DnsRequest,
  EventSink,
  ExecProcessRequest,
  ImagesPort,
  NetworkingPort,
  NodeAvailability,
  ResolvedImage,
  SnapshotsPort,
  StdioOptions,
} from './ports.js';
export type { HostFacts, Logger, TasksDeps, TasksSettings } from './lifecycle/context.js';
export type { ReconcileReport } from './lifecycle/reconcile.js';
export type { ContainerPhase, ContainerRecord, ExitInfo, TaskPresence } from './records.js';
export { BUS_VERBS, serveBusApi, type BusVerb } from './bus-api/serve.js';
export { NodeRegistry, nodeMessage, type NodeRecord } from './nodes/registry.js';
export { ANNOTATIONS, buildExecProcessFor, buildRuntimeSpec, networkMode, userOf, type SpecInputs } from './container-spec.js';
export { parseSignal, signalName } from './signals.js';
export { decideRestart, nextBackoffMs, restartOnServiceStart, DEFAULT_BACKOFF } from './restart-policy.js';
export { GrpcAgent, GrpcAgentDirectory } from './adapters/agent.js';
export { GrpcImages } from './adapters/images.js';
export { GrpcSnapshots } from './adapters/snapshots.js';
export { GrpcNetworking } from './adapters/networking.js';
export { BusEventSink } from './adapters/bus-events.js';

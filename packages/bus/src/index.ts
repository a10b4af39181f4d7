// @berth/bus: berth on NATS. Subjects, the event envelope, JetStream for
// events that must not be lost, request/reply with trace propagation.
export { connectBus, type Bus } from './bus.js';
export type { BusOptions, BusTlsOptions } from './connect-options.js';
export type { EventHandler, PublishOptions, SubscribeOptions } from './events.js';
export type { DurableConsumer, DurableHandler, DurableOptions } from './durable.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, decodeReply, type RequestHandler, type RequestOptions, type ServeOptions } from './rpc.js';
export type { Unsubscribe } from './runtime.js';
export {
  EnvelopeError,
  encodeEnvelope,
  envelopeProblems,
  makeEnvelope,
  parseEnvelope,
  type EventEnvelope,
  type MakeEnvelopeInput,
} from './envelope.js';
export {
  BusConnectError,
  BusRequestError,
  RpcCodes,
  type RpcErrorBody,
  type RpcReply,
  type RpcResultBody,
} from './errors.js';
export {
  EVENTS_DUPLICATE_WINDOW_MS,
  EVENTS_MAX_AGE_MS,
  eventsStreamConfig,
  type EnsureStreamResult,
} from './streams.js';
export {
  assertDottedName,
  assertNamespace,
  assertNodeId,
  assertServiceName,
  assertToken,
  eventPattern,
  eventSubject,
  EVENTS_STREAM,
  EVENTS_STREAM_SUBJECTS,
  HEARTBEAT_PATTERN,
  HEARTBEAT_REQUEST_SUBJECT,
  heartbeatSubject,
  nodeRpcSubject,
  serviceRpcSubject,
  SUBJECT_ROOT,
  SubjectError,
} from './subjects.js';
export type { JsMsg, Msg, NatsConnection } from 'nats';

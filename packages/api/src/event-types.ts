// Which payload message each bus event type carries (see proto/berth/events/v1).
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import * as events from './events.js';

/** The encode/decode half of a generated message codec. */
export interface PayloadCodec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
  toJSON(message: T): unknown;
  fromJSON(object: unknown): T;
}

/** Event type (the subject suffix after `events.`) to its payload message. */
export interface EventPayloads {
  'images.created': events.ImageCreated;
  'images.updated': events.ImageUpdated;
  'images.deleted': events.ImageDeleted;
  'images.pull.started': events.PullStarted;
  'images.pull.finished': events.PullFinished;
  'images.pull.failed': events.PullFailed;
  'snapshots.committed': events.SnapshotCommitted;
  'snapshots.removed': events.SnapshotRemoved;
  'containers.created': events.ContainerCreated;
  'containers.updated': events.ContainerUpdated;
  'containers.deleted': events.ContainerDeleted;
  'tasks.created': events.TaskCreated;
  'tasks.started': events.TaskStarted;
  'tasks.exit': events.TaskExit;
  'tasks.paused': events.TaskPaused;
  'tasks.resumed': events.TaskResumed;
  'tasks.deleted': events.TaskDeleted;
  'networks.created': events.NetworkCreated;
  'networks.removed': events.NetworkRemoved;
  'networks.attached': events.NetworkAttached;
  'networks.detached': events.NetworkDetached;
  'nodes.heartbeat': events.NodeHeartbeat;
}

/** A bus event type, e.g. "tasks.exit". */
export type EventType = keyof EventPayloads;

/** The payload message of an event type, e.g. EventPayload<'tasks.exit'> is events.TaskExit. */
export type EventPayload<T extends EventType> = EventPayloads[T];

/** Event type to the codec of its payload message. */
export const eventPayloads: { readonly [T in EventType]: PayloadCodec<EventPayloads[T]> } = {
  'images.created': events.ImageCreated,
  'images.updated': events.ImageUpdated,
  'images.deleted': events.ImageDeleted,
  'images.pull.started': events.PullStarted,
  'images.pull.finished': events.PullFinished,
  'images.pull.failed': events.PullFailed,
  'snapshots.committed': events.SnapshotCommitted,
  'snapshots.removed': events.SnapshotRemoved,
  'containers.created': events.ContainerCreated,
  'containers.updated': events.ContainerUpdated,
  'containers.deleted': events.ContainerDeleted,
  'tasks.created': events.TaskCreated,
  'tasks.started': events.TaskStarted,
  'tasks.exit': events.TaskExit,
  'tasks.paused': events.TaskPaused,
  'tasks.resumed': events.TaskResumed,
  'tasks.deleted': events.TaskDeleted,
  'networks.created': events.NetworkCreated,
  'networks.removed': events.NetworkRemoved,
  'networks.attached': events.NetworkAttached,
  'networks.detached': events.NetworkDetached,
  'nodes.heartbeat': events.NodeHeartbeat,
};

/** True when `type` is a known event type. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventPayloads, type);
}

// The core's events on NATS: image created/updated/deleted and pull
// started/finished/failed carry their berth.events.v1 payloads (as JSON, via
// eventPayloads) and are published durably (stored by JetStream before the
// publish counts as done); the others (push, import, GC) travel as they are.
import { eventPayloads, events, type EventPayload, type EventType, type PayloadCodec } from '@berth/api';
import type { Bus } from '@berth/bus';
import type { Descriptor, Platform } from '@berth/oci';
import type { Logger } from '@berth/telemetry';
import type { EventSink, ImagesEvent } from './events.js';
import { descriptorToProto, platformToProto } from './grpc/convert.js';

export interface BusEvent {
  type: string;
  payload: unknown;
  durable: boolean;
}

/** The bus form of a core event. */
export function busEventOf(event: ImagesEvent): BusEvent {
  const p = event.payload;
  const typed = <T extends EventType>(type: T, payload: EventPayload<T>): BusEvent => ({
    type,
    payload: (eventPayloads[type] as PayloadCodec<EventPayload<T>>).toJSON(payload),
    durable: true,
  });
  switch (event.type) {
    case 'images.created':
      return typed('images.created', events.ImageCreated.fromPartial({ name: str(p.name), target: desc(p.target), labels: labels(p.labels) }));
    case 'images.updated':
      return typed('images.updated', events.ImageUpdated.fromPartial({ name: str(p.name), target: desc(p.target), labels: labels(p.labels) }));
    case 'images.deleted':
      return typed(
        'images.deleted',
        events.ImageDeleted.fromPartial({ name: str(p.name), targetDigest: (p.target as Descriptor | undefined)?.digest ?? '' }),
      );
    case 'images.pull.started':
      return typed(
        'images.pull.started',
        events.PullStarted.fromPartial({
          reference: str(p.ref),
          ...(p.platform ? { platform: platformToProto(p.platform as Platform) } : {}),
        }),
      );
    case 'images.pull.finished':
      return typed(
        'images.pull.finished',
        events.PullFinished.fromPartial({
          reference: str(p.ref),
          name: str(p.name),
          target: desc(p.target),
          fetchedBytes: typeof p.fetchedBytes === 'number' ? p.fetchedBytes : 0,
          unpacked: p.unpacked === true,
        }),
      );
    case 'images.pull.failed':
      return typed('images.pull.failed', events.PullFailed.fromPartial({ reference: str(p.ref), error: str(p.error) }));
    default:
      return { type: event.type, payload: p, durable: false };
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const desc = (v: unknown) => (v ? descriptorToProto(v as Descriptor) : undefined);
const labels = (v: unknown): Record<string, string> => (v && typeof v === 'object' ? (v as Record<string, string>) : {});

export interface BusEventSink {
  sink: EventSink;
  /** Waits for the publishes still in flight (at shutdown, before the bus closes). */
  settle(): Promise<void>;
}

/**
 * An EventSink publishing on `bus`. Publishing runs in the background: an
 * operation never waits for (or fails because of) NATS; a failed publish is
 * logged with the event it lost.
 */
export function busEventSink(bus: Bus, logger: Logger, defaultNamespace: string): BusEventSink {
  const pending = new Set<Promise<unknown>>();
  const sink: EventSink = (event) => {
    const { type, payload, durable } = busEventOf(event);
    const namespace = event.namespace ?? defaultNamespace;
    const p = bus
      .publish(namespace, type, payload, { durable })
      .catch((err: unknown) => logger.error({ err, type, namespace, payload }, `publishing event ${type} failed; the event is lost`));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  return { sink, settle: async () => void (await Promise.allSettled([...pending])) };
}

// Publishing events and subscribing to them over core NATS (durable consumers
// live in durable.ts). The trace context travels in the NATS headers and in
// the envelope, so it survives being stored and replayed by JetStream.
import { context, currentTraceparent, SpanKind, withSpan } from '@berth/telemetry';
import type { Msg } from 'nats';
import { encodeEnvelope, makeEnvelope, parseEnvelope, type EventEnvelope } from './envelope.js';
import { isNoResponders } from './jetstream-errors.js';
import { messagingAttributes, type BusRuntime, type Unsubscribe } from './runtime.js';
import { eventSubject } from './subjects.js';
import { headersWithTrace, messageParentContext } from './trace-headers.js';

export interface PublishOptions {
  /**
   * Wait until JetStream has stored the event (default false). Every event
   * subject is captured by BERTH_EVENTS either way; durable means the publish
   * fails unless the store is confirmed.
   */
  durable?: boolean;
  /** How long a durable publish waits for the store's ack (default 5000 ms). */
  timeoutMs?: number;
  /**
   * Envelope id, for a publisher that retries an event it recorded (an
   * outbox): JetStream drops a repeat with the same id inside its window.
   */
  id?: string;
}

export type EventHandler<T> = (envelope: EventEnvelope<T>, msg: Msg) => void | Promise<void>;

export interface SubscribeOptions<T> {
  /** Queue group: each event goes to one member of the group. */
  queue?: string;
  /** Checks and types the payload (e.g. a zod schema's parse); invalid events are logged and dropped. */
  validatePayload?: (payload: unknown) => T;
}

export async function publishEvent<T>(
  rt: BusRuntime,
  namespace: string,
  type: string,
  payload: T,
  opts: PublishOptions = {},
): Promise<EventEnvelope<T>> {
  const subject = eventSubject(namespace, type);
  return withSpan(
    rt.tracer,
    `publish ${subject}`,
    { kind: SpanKind.PRODUCER, attributes: { ...messagingAttributes('publish', subject), 'berth.durable': opts.durable === true } },
    async (span) => {
      const envelope = makeEnvelope({
        namespace,
        type,
        source: rt.service,
        node: rt.node,
        payload,
        traceparent: currentTraceparent(),
        ...(opts.id ? { id: opts.id } : {}),
      });
      span.setAttribute('messaging.message.id', envelope.id);
      const data = encodeEnvelope(envelope);
      const headers = headersWithTrace(context.active());
      if (!opts.durable) {
        // Same dedup id as durable publishes, since BERTH_EVENTS stores these too.
        headers.set('Nats-Msg-Id', envelope.id);
        rt.nc.publish(subject, data, { headers });
        return envelope;
      }
      try {
        const ack = await rt.nc
          .jetstream()
          .publish(subject, data, { msgID: envelope.id, headers, timeout: opts.timeoutMs ?? 5000 });
        span.setAttribute('messaging.nats.stream.sequence', ack.seq);
      } catch (err) {
        throw new Error(
          isNoResponders(err)
            ? `durable publish of ${type} event ${envelope.id} on ${subject} was not stored: no JetStream stream ` +
                `captures the subject (is JetStream enabled and the BERTH_EVENTS stream created?)`
            : `durable publish of ${type} event ${envelope.id} on ${subject} was not confirmed: ${(err as Error).message}`,
          { cause: err },
        );
      }
      return envelope;
    },
  );
}

/**
 * Handles the events on `subject` (a pattern such as eventPattern() makes)
 * one at a time, in order, each inside a CONSUMER span whose parent is the
 * publisher's span. A handler's throw is logged and recorded on the span;
 * core subscriptions have no redelivery (use consume() for that).
 */
export function subscribeEvents<T>(
  rt: BusRuntime,
  subject: string,
  handler: EventHandler<T>,
  opts: SubscribeOptions<T> = {},
): Unsubscribe {
  const sub = rt.nc.subscribe(subject, opts.queue ? { queue: opts.queue } : {});
  void (async () => {
    for await (const msg of sub) await handleEvent(rt, msg, handler, opts.validatePayload);
  })().catch((err: unknown) => rt.log.error({ err, subject }, 'event subscription stopped with an error'));
  return () => {
    if (!sub.isClosed()) sub.unsubscribe();
  };
}

async function handleEvent<T>(
  rt: BusRuntime,
  msg: Msg,
  handler: EventHandler<T>,
  validatePayload: ((payload: unknown) => T) | undefined,
): Promise<void> {
  let envelope: EventEnvelope<T>;
  try {
    envelope = parseEnvelope(msg.data, validatePayload);
  } catch (err) {
    rt.log.warn({ err, subject: msg.subject }, 'dropping a message that is not a valid event');
    return;
  }
  const parent = messageParentContext(msg.headers, envelope.traceparent);
  try {
    await withSpan(
      rt.tracer,
      `process ${msg.subject}`,
      {
        kind: SpanKind.CONSUMER,
        parent,
        attributes: { ...messagingAttributes('process', msg.subject), 'messaging.message.id': envelope.id },
      },
      async () => {
        try {
          await handler(envelope, msg);
        } catch (err) {
          rt.log.error({ err, subject: msg.subject, eventId: envelope.id, eventType: envelope.type }, 'event handler failed');
          throw err;
        }
      },
    );
  } catch {
    // logged above, recorded on the span; the next event still gets handled
  }
}

// Durable consumers on BERTH_EVENTS: the server remembers how far a named
// consumer got, so events published while its service was down (a task exit
// during a restart) are delivered when it comes back. A message is acked only
// after its handler succeeded; a throw naks it for redelivery after a delay.
import { SpanKind, withSpan } from '@berth/telemetry';
import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type ConsumerMessages, type JsMsg } from 'nats';
import { parseEnvelope, type EventEnvelope } from './envelope.js';
import { JS_CONSUMER_NOT_FOUND, JS_STREAM_NOT_FOUND, jsErrorCode } from './jetstream-errors.js';
import { messagingAttributes, type BusRuntime } from './runtime.js';
import { assertToken, EVENTS_STREAM } from './subjects.js';
import { messageParentContext } from './trace-headers.js';

export type DurableHandler<T> = (envelope: EventEnvelope<T>, msg: JsMsg) => void | Promise<void>;

export interface DurableOptions<T> {
  /** Checks and types the payload; an invalid event is logged and terminated (never redelivered). */
  validatePayload?: (payload: unknown) => T;
  /** Delay before a failed message is redelivered (default 1000 ms). */
  nakDelayMs?: number;
  /** How long the server waits for an ack before redelivering (default 30000 ms); handlers that run longer keep the message alive. */
  ackWaitMs?: number;
  /** Deliveries before the server gives up on a message (default -1: never). */
  maxDeliver?: number;
  /** Where a consumer created now starts: 'all' stored events (default) or only 'new' ones. Ignored for an existing consumer. */
  deliverPolicy?: 'all' | 'new';
  /** Messages pulled ahead of the handler (default 8). */
  batch?: number;
}

export interface DurableConsumer {
  readonly name: string;
  readonly filterSubject: string;
  /** Stops pulling, waits for the message in hand to finish. Do not await it from inside the handler. */
  stop(): Promise<void>;
}

export async function consumeDurable<T>(
  rt: BusRuntime,
  durableName: string,
  filterSubject: string,
  handler: DurableHandler<T>,
  opts: DurableOptions<T> = {},
): Promise<DurableConsumer> {
  assertToken('durable consumer name', durableName);
  if (/[/\\]/.test(durableName)) throw new Error(`durable consumer name ${JSON.stringify(durableName)} may not contain '/' or '\\'`);
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  await ensureConsumer(rt, durableName, {
    durable_name: durableName,
    description: `berth ${rt.service} (${filterSubject})`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: opts.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subject: filterSubject,
    ack_wait: nanos(ackWaitMs),
    max_deliver: opts.maxDeliver ?? -1,
  });

  const consumer = await rt.nc.jetstream().consumers.get(EVENTS_STREAM, durableName);
  const messages = await consumer.consume({ max_messages: opts.batch ?? 8 });
  const log = rt.log.child({ consumer: durableName });
  watchConsumerStatus(messages, log);
  const loop = (async () => {
    for await (const msg of messages) await handleDurable(rt, log, durableName, msg, handler, opts, ackWaitMs);
  })().catch((err: unknown) => log.error({ err }, 'durable consumer stopped with an error'));

  let stopping: Promise<void> | undefined;
  return {
    name: durableName,
    filterSubject,
    stop: () => {
      stopping ??= (async () => {
        await messages.close().catch(() => undefined);
        // A round trip orders the unsubscribe before anything published after stop()
        // returns: the server then sends that to the next consumer, not to our dead
        // inbox (which would hold it unacked for ack_wait).
        await rt.nc.flush().catch(() => undefined);
        await loop;
      })();
      return stopping;
    },
  };
}

/** Creates the durable consumer, or updates the settings that may change on an existing one. */
async function ensureConsumer(rt: BusRuntime, name: string, want: Partial<ConsumerConfig>): Promise<void> {
  const jsm = await rt.nc.jetstreamManager();
  const where = `durable consumer ${JSON.stringify(name)} on stream ${EVENTS_STREAM} (filter ${want.filter_subject})`;
  let current: ConsumerConfig | undefined;
  try {
    current = (await jsm.consumers.info(EVENTS_STREAM, name)).config;
  } catch (err) {
    const code = jsErrorCode(err);
    if (code === JS_STREAM_NOT_FOUND) {
      throw new Error(`cannot create ${where}: the stream does not exist (bus.ensureStreams() creates it)`, { cause: err });
    }
    if (code !== JS_CONSUMER_NOT_FOUND) throw new Error(`cannot read ${where}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (current === undefined) {
      await jsm.consumers.add(EVENTS_STREAM, want);
      return;
    }
    if (current.ack_policy !== AckPolicy.Explicit) {
      throw new Error(`it exists with ack policy "${current.ack_policy}", not "explicit"; delete it to recreate it`);
    }
    if (
      current.filter_subject !== want.filter_subject ||
      current.ack_wait !== want.ack_wait ||
      current.max_deliver !== want.max_deliver
    ) {
      await jsm.consumers.update(EVENTS_STREAM, name, {
        filter_subject: want.filter_subject,
        ack_wait: want.ack_wait,
        max_deliver: want.max_deliver,
      });
    }
  } catch (err) {
    throw new Error(`cannot set up ${where}: ${(err as Error).message}`, { cause: err });
  }
}

async function handleDurable<T>(
  rt: BusRuntime,
  log: BusRuntime['log'],
  durableName: string,
  msg: JsMsg,
  handler: DurableHandler<T>,
  opts: DurableOptions<T>,
  ackWaitMs: number,
): Promise<void> {
  let envelope: EventEnvelope<T>;
  try {
    envelope = parseEnvelope(msg.data, opts.validatePayload);
  } catch (err) {
    // Redelivering a message that can never parse would block nothing but
    // loop forever; terminate it and leave it in the stream for inspection.
    log.error({ err, subject: msg.subject, streamSeq: msg.seq }, 'terminating a stored message that is not a valid event');
    msg.term();
    return;
  }
  const parent = messageParentContext(msg.headers, envelope.traceparent);
  const keepAlive = setInterval(() => msg.working(), Math.max(500, Math.floor(ackWaitMs / 2)));
  try {
    await withSpan(
      rt.tracer,
      `process ${msg.subject}`,
      {
        kind: SpanKind.CONSUMER,
        parent,
        attributes: {
          ...messagingAttributes('process', msg.subject),
          'messaging.message.id': envelope.id,
          'messaging.consumer.group.name': durableName,
          'messaging.nats.delivery_count': msg.info.deliveryCount,
        },
      },
      async () => {
        try {
          await handler(envelope, msg);
        } catch (err) {
          log.error(
            { err, subject: msg.subject, eventId: envelope.id, deliveryCount: msg.info.deliveryCount },
            'durable event handler failed; the event will be redelivered',
          );
          throw err;
        }
      },
    );
    msg.ack();
  } catch {
    msg.nak(opts.nakDelayMs ?? 1000);
  } finally {
    clearInterval(keepAlive);
  }
}

function watchConsumerStatus(messages: ConsumerMessages, log: BusRuntime['log']): void {
  void (async () => {
    for await (const status of await messages.status()) {
      if (status.type === 'debug' || status.type === 'next' || status.type === 'discard' || status.type === 'reset') {
        continue;
      }
      log.warn({ status: status.type, data: status.data }, 'durable consumer status');
    }
  })().catch(() => undefined);
}

// connectBus: one NATS connection per service process, and the operations
// berth code uses on it (events, durable consumers, request/reply).
import { createLogger, trace } from '@berth/telemetry';
import { connect, NatsError, type NatsConnection } from 'nats';
import { natsConnectionOptions, type BusOptions } from './connect-options.js';
import { consumeDurable, type DurableConsumer, type DurableHandler, type DurableOptions } from './durable.js';
import type { EventEnvelope } from './envelope.js';
import { BusConnectError } from './errors.js';
import { publishEvent, subscribeEvents, type EventHandler, type PublishOptions, type SubscribeOptions } from './events.js';
import { requestReply, serveRequests, type RequestHandler, type RequestOptions, type ServeOptions } from './rpc.js';
import type { BusRuntime, Unsubscribe } from './runtime.js';
import { logConnectionStatus } from './status.js';
import { ensureEventsStream, type EnsureStreamResult } from './streams.js';
import { assertNodeId, assertServiceName } from './subjects.js';

export interface Bus {
  readonly service: string;
  readonly node: string;
  /** The underlying connection (health checks, anything the bus does not wrap). */
  readonly connection: NatsConnection;
  /** Publishes an event on berth.<namespace>.events.<type>; resolves with its envelope (durable: once stored). */
  publish<T>(namespace: string, type: string, payload: T, opts?: PublishOptions): Promise<EventEnvelope<T>>;
  /** Handles events matching subjectPattern, in order, each in a CONSUMER span under the publisher's span. */
  subscribe<T = unknown>(subjectPattern: string, handler: EventHandler<T>, opts?: SubscribeOptions<T>): Unsubscribe;
  /** A durable JetStream consumer on BERTH_EVENTS: ack after the handler resolves, nak with delay when it throws. */
  consume<T = unknown>(
    durableName: string,
    filterSubject: string,
    handler: DurableHandler<T>,
    opts?: DurableOptions<T>,
  ): Promise<DurableConsumer>;
  /** JSON request; resolves with the responder's result or rejects with a BusRequestError. */
  request<R = unknown>(subject: string, payload: unknown, opts?: RequestOptions): Promise<R>;
  /** Answers JSON requests on subject; a throw travels back as { error: { code, message } }. */
  serve<P = unknown, R = unknown>(subject: string, handler: RequestHandler<P, R>, opts?: ServeOptions<P>): Unsubscribe;
  /** Creates or updates the BERTH_EVENTS stream (connectBus does this unless jetstream: false). */
  ensureStreams(): Promise<EnsureStreamResult>;
  /** Round trip to the server: everything sent before it has been processed by the server. */
  flush(): Promise<void>;
  /** Stops durable consumers, lets in-flight messages finish, drains and closes the connection. Safe to call twice. */
  close(): Promise<void>;
}

export type { BusOptions };

export async function connectBus(options: BusOptions): Promise<Bus> {
  assertServiceName(options.service);
  assertNodeId(options.node);
  const log = (options.logger ?? createLogger({ service: options.service, node: options.node })).child({
    component: 'bus',
  });
  const natsOptions = await natsConnectionOptions(options);
  const servers = [options.servers].flat().join(', ');
  let nc: NatsConnection;
  try {
    nc = await connect(natsOptions);
  } catch (err) {
    throw connectFailure(err, servers, natsOptions.name ?? '', options);
  }
  logConnectionStatus(nc, log);
  log.info({ server: nc.getServer(), name: natsOptions.name }, 'connected to NATS');

  const bus = createBus({ nc, service: options.service, node: options.node, log, tracer: trace.getTracer('@berth/bus') });
  if (options.jetstream !== false) {
    try {
      const result = await bus.ensureStreams();
      log.debug({ result }, 'events stream ready');
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }
  return bus;
}

function createBus(rt: BusRuntime): Bus {
  const consumers = new Set<DurableConsumer>();
  let closing: Promise<void> | undefined;
  return {
    service: rt.service,
    node: rt.node,
    connection: rt.nc,
    publish: (namespace, type, payload, opts) => publishEvent(rt, namespace, type, payload, opts),
    subscribe: (subject, handler, opts) => subscribeEvents(rt, subject, handler, opts),
    consume: async (durableName, filterSubject, handler, opts) => {
      const consumer = await consumeDurable(rt, durableName, filterSubject, handler, opts);
      consumers.add(consumer);
      return {
        name: consumer.name,
        filterSubject: consumer.filterSubject,
        stop: async () => {
          consumers.delete(consumer);
          await consumer.stop();
        },
      };
    },
    request: (subject, payload, opts) => requestReply(rt, subject, payload, opts),
    serve: (subject, handler, opts) => serveRequests(rt, subject, handler, opts),
    ensureStreams: async () => {
      let jsm;
      try {
        jsm = await rt.nc.jetstreamManager();
      } catch (err) {
        throw new Error(
          `NATS at ${rt.nc.getServer()} offers no JetStream (${(err as Error).message}): ` +
            `start nats-server with --jetstream, or connect with jetstream: false`,
          { cause: err },
        );
      }
      return ensureEventsStream(jsm);
    },
    flush: () => rt.nc.flush(),
    close: () => {
      closing ??= (async () => {
        await Promise.all([...consumers].map((c) => c.stop()));
        consumers.clear();
        if (!rt.nc.isClosed() && !rt.nc.isDraining()) {
          await rt.nc.drain().catch((err: unknown) => rt.log.warn({ err }, 'draining the NATS connection failed'));
        }
        await rt.nc.closed();
      })();
      return closing;
    },
  };
}

function connectFailure(err: unknown, servers: string, name: string, options: BusOptions): BusConnectError {
  const code = err instanceof NatsError ? err.code : 'UNKNOWN';
  // A TLS 1.3 server that wants a client certificate drops us after the
  // handshake; the client only sees a timeout.
  const tlsHint =
    options.tls && options.tls.certFile === undefined
      ? ' (if the server requires client certificates, set tls.certFile and tls.keyFile)'
      : '';
  const detail =
    code === 'AUTHORIZATION_VIOLATION'
      ? 'the server refused our credentials (authorization violation): check the token, user/pass, nkey seed or creds file'
      : code === 'CONNECTION_REFUSED'
        ? 'connection refused: is nats-server running and listening there?'
        : code === 'TIMEOUT' || code === 'CONNECTION_TIMEOUT'
          ? `timed out while connecting${tlsHint}`
          : (err as Error).message;
  return new BusConnectError(code, `cannot connect to NATS at ${servers} as ${name}: ${detail}`, err);
}

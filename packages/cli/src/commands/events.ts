// `events`: berth's bus events as they happen, from NATS. With --since the
// BERTH_EVENTS JetStream stream replays the past first; --until ends the stream.
import type { CliIo } from '../stdio/io.js';
import type { Bus, Msg, NatsConnection } from '@berth/bus';
import { withDeferredCaCerts } from '../extra-ca-certs.js';
import { EVENT_FILTER_KEYS, eventMatches, eventObject, formatEvent, type EventView } from '../format/events.js';
import { BerthError, renderTemplate, type Format } from '../output.js';
import { parseFilters, type Filter } from '../parse/filters.js';
import { parseTimePoint } from '../parse/time.js';
import type { GlobalOptions } from '../stack-options.js';

export interface EventsOptions {
  filter: string[];
  since?: string;
  until?: string;
  allNamespaces?: boolean;
}

/** The stack's NATS: BERTH_NATS_URL, else the port the launcher uses. */
export function natsUrl(env: NodeJS.ProcessEnv): string {
  return env['BERTH_NATS_URL'] ?? `nats://127.0.0.1:${env['BERTH_NATS_PORT'] ?? 4222}`;
}

/**
 * @berth/bus, with nats, pino and prom-client under it, is a third of what the
 * CLI would bundle and only this command needs it: it stays outside the
 * bundle (scripts/bundle.mjs) and loads here.
 */
let busModule: typeof import('@berth/bus') | undefined;

async function connect(env: NodeJS.ProcessEnv): Promise<Bus> {
  const { connectBus } = (busModule ??= await import('@berth/bus'));
  const url = natsUrl(env);
  // the bus logs through pino to stdout, which is where the events go
  process.env['BERTH_LOG_LEVEL'] = 'silent';
  try {
    const options = { servers: url, service: 'cli', node: `cli-${process.pid}`, jetstream: false, connectTimeoutMs: 5000 };
    return await withDeferredCaCerts((caFile) => connectBus({ ...options, ...(caFile !== undefined ? { tls: { caFile } } : {}) }));
  } catch (err) {
    throw new BerthError(
      `cannot connect to berth's NATS at ${url} (${(err as Error).message}): the berth stack is not running; start it with \`berth system up\``,
      125,
      { cause: err },
    );
  }
}

function printer(io: CliIo, format: Format, filters: Filter[]): (e: EventView) => void {
  return (e) => {
    if (!eventMatches(e, filters)) return;
    if (format === 'json') io.stdout.write(`${JSON.stringify(eventObject(e))}\n`);
    else if (format === 'table') io.stdout.write(`${formatEvent(e)}\n`);
    else io.stdout.write(`${renderTemplate(format.template, eventObject(e))}\n`);
  };
}

function decode(data: Uint8Array): EventView | undefined {
  if (!busModule) throw new Error('events decoded before @berth/bus was loaded');
  try {
    return busModule.parseEnvelope(data);
  } catch {
    return undefined; // not an event: nothing to show
  }
}

export async function events(g: GlobalOptions, o: EventsOptions, format: Format): Promise<number> {
  const filters = parseFilters(o.filter, EVENT_FILTER_KEYS);
  const now = new Date();
  const since = o.since !== undefined ? parseTimePoint(o.since, now) : undefined;
  const until = o.until !== undefined ? parseTimePoint(o.until, now) : undefined;
  const untilMs = until ? until.seconds * 1000 + Math.floor(until.nanos / 1e6) : undefined;
  const subject = `berth.${o.allNamespaces ? '*' : g.namespace}.events.>`;
  const show = printer(g.io, format, filters);
  const bus = await connect(g.io.env);
  const done = new AbortController();
  const stop = () => done.abort();
  const offSignals = [g.io.onSignal('SIGINT', stop), g.io.onSignal('SIGTERM', stop)];
  let timer: NodeJS.Timeout | undefined;
  // an --until already past ends the replay once it caught up; a future one ends the stream then
  const untilPast = untilMs !== undefined && untilMs <= Date.now();
  if (untilMs !== undefined && !(untilPast && since)) timer = setTimeout(stop, Math.max(0, untilMs - Date.now()));
  const past = (e: EventView) => untilMs !== undefined && Date.parse(e.time) > untilMs;
  try {
    const stream = since
      ? await replay(bus.connection, subject, since, untilPast, done.signal)
      : live(bus.connection, subject, done.signal);
    for await (const e of stream) {
      if (past(e)) break;
      show(e);
    }
  } finally {
    if (timer) clearTimeout(timer);
    for (const off of offSignals) off();
    await bus.close();
  }
  return 0;
}

/** Events published from now on (core NATS). */
async function* live(nc: NatsConnection, subject: string, signal: AbortSignal): AsyncGenerator<EventView> {
  const sub = nc.subscribe(subject);
  const onAbort = () => sub.unsubscribe();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const msg of sub as AsyncIterable<Msg>) {
      const e = decode(msg.data);
      if (e) yield e;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

type ConsumerConfig = Parameters<Awaited<ReturnType<NatsConnection['jetstreamManager']>>['consumers']['add']>[1];

/**
 * Events stored since a time, then (unless endWhenCaughtUp) new ones: an
 * ephemeral consumer on BERTH_EVENTS (one filter subject, which nats-server
 * 2.9 needs too; no acks; the server drops it once berth stops reading). The
 * end of what is stored is the stream's last sequence when the replay began
 * (JetStream's per-message pending count is not exact enough to tell).
 */
async function replay(
  nc: NatsConnection,
  subject: string,
  since: { seconds: number; nanos: number },
  endWhenCaughtUp: boolean,
  signal: AbortSignal,
): Promise<AsyncGenerator<EventView>> {
  const start = new Date(since.seconds * 1000 + Math.floor(since.nanos / 1e6)).toISOString();
  const config = {
    filter_subject: subject,
    deliver_policy: 'by_start_time',
    opt_start_time: start,
    ack_policy: 'none',
    inactive_threshold: 30e9,
  } as unknown as ConsumerConfig;
  let name: string;
  let lastSeq: number;
  let consumer;
  try {
    const jsm = await nc.jetstreamManager();
    lastSeq = (await jsm.streams.info('BERTH_EVENTS')).state.last_seq;
    name = (await jsm.consumers.add('BERTH_EVENTS', config)).name;
    consumer = await nc.jetstream().consumers.get('BERTH_EVENTS', name);
  } catch (err) {
    throw new BerthError(`cannot replay events from the BERTH_EVENTS stream: ${(err as Error).message}`, 125, { cause: err });
  }
  const c = consumer;
  const cleanup = () =>
    nc
      .jetstreamManager()
      .then((jsm) => jsm.consumers.delete('BERTH_EVENTS', name))
      .catch(() => undefined); // it expires by itself anyway
  if (endWhenCaughtUp) {
    return (async function* () {
      try {
        while (!signal.aborted) {
          // nothing within a second: everything matching has been read
          const msg = await c.next({ expires: 1000 });
          if (!msg) return;
          const e = decode(msg.data);
          if (e) yield e;
          if (msg.seq >= lastSeq) return;
        }
      } finally {
        await cleanup();
      }
    })();
  }
  const stream = await c.consume();
  signal.addEventListener('abort', () => void stream.close(), { once: true });
  return (async function* () {
    try {
      for await (const msg of stream) {
        const e = decode(msg.data);
        if (e) yield e;
      }
    } finally {
      await stream.close();
      await cleanup();
    }
  })();
}

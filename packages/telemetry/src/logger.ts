// One pino logger per service: JSON lines by default (what log shippers want),
// pretty only for a human at a terminal, and every line inside a span carries
// that span's trace_id/span_id so logs and traces join up.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import { build as buildPretty } from 'pino-pretty';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface LoggerOptions {
  service: string;
  node: string;
  /** Default: BERTH_LOG_LEVEL, else 'info'. */
  level?: string;
  /** Where lines go (default stdout). A given destination gets JSON unless format says otherwise. */
  destination?: DestinationStream;
  /** Default: BERTH_LOG_FORMAT, else pretty when writing to a stdout TTY, else json. */
  format?: LogFormat;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = resolveLevel(opts.level ?? process.env.BERTH_LOG_LEVEL);
  const format = resolveFormat(opts, process.env.BERTH_LOG_FORMAT, process.stdout.isTTY === true);
  const destination =
    format === 'pretty'
      ? buildPretty({
          destination: opts.destination ?? 1,
          sync: true,
          // one line head per entry: "[images@node-1] pulled"
          ignore: 'pid,hostname,service,node',
          messageFormat: '[{service}@{node}] {msg}',
        })
      : opts.destination;
  const options = {
    level,
    base: { service: opts.service, node: opts.node, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
  };
  // No destination: pino's own stdout writer.
  return destination ? pino(options, destination) : pino(options);
}

/** trace_id/span_id of the span active where the log call happens (nothing outside a span). */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}

export function resolveLevel(value: string | undefined): LogLevel {
  const level = (value ?? '').trim().toLowerCase() || 'info';
  if ((LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`invalid log level "${value}" (BERTH_LOG_LEVEL or level option): expected one of ${LEVELS.join(', ')}`);
}

export function resolveFormat(
  opts: Pick<LoggerOptions, 'format' | 'destination'>,
  envFormat: string | undefined,
  stdoutIsTty: boolean,
): LogFormat {
  const explicit = opts.format ?? (envFormat?.trim() ? envFormat.trim().toLowerCase() : undefined);
  if (explicit !== undefined) {
    if (explicit === 'json' || explicit === 'pretty') return explicit;
    throw new Error(`invalid log format "${explicit}" (BERTH_LOG_FORMAT or format option): expected json or pretty`);
  }
  return opts.destination === undefined && stdoutIsTty ? 'pretty' : 'json';
}

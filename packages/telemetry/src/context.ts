// Transport-agnostic trace context plumbing: gRPC metadata, NATS headers and
// event envelopes all reduce to a string map carrying `traceparent`.
import {
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

export type Carrier = Record<string, string>;

/** Writes traceparent (and tracestate) of ctx (default: the active context) into carrier; returns it. */
export function injectContext<C extends Carrier>(carrier: C, ctx: Context = context.active()): C {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** A context whose remote parent is the span described by carrier; the active context when it has none. */
export function extractContext(carrier: Readonly<Record<string, string | undefined>>, base: Context = context.active()): Context {
  return propagation.extract(base, carrier, {
    keys: (c) => Object.keys(c),
    get: (c, key) => c[key] ?? c[key.toLowerCase()],
  });
}

/** W3C traceparent of the active span, if there is one. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const span = trace.getSpan(ctx);
  if (!span || !isSpanContextValid(span.spanContext())) return undefined;
  return injectContext<Carrier>({}, ctx).traceparent;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context (e.g. from extractContext); default the active one. */
  parent?: Context;
}

/**
 * Runs fn inside a new span (active for everything fn awaits), ends the span
 * when fn returns or settles, and on a throw/rejection records the exception,
 * marks the span as an error and rethrows.
 */
export function withSpan<T>(tracer: Tracer, name: string, opts: SpanOptions, fn: (span: Span) => T): T {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes }, parent);
  const fail = (err: unknown): never => {
    recordError(span, err);
    span.end();
    throw err;
  };
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), fn, undefined, span);
  } catch (err) {
    return fail(err);
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        span.end();
        return value;
      },
      fail,
    ) as T;
  }
  span.end();
  return result;
}

/** Marks span as failed by err, keeping the exception event with its stack. */
export function recordError(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

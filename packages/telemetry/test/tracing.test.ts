import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  context,
  currentTraceparent,
  extractContext,
  initTracing,
  injectContext,
  SpanKind,
  SpanStatusCode,
  trace,
  traceExportersFromEnv,
  withSpan,
  type Tracing,
} from '../src/index.js';

let tracing: Tracing;
beforeAll(() => {
  tracing = initTracing({ service: 'tracetest', node: 'n1', version: '1.2.3', memory: true });
});
afterAll(async () => {
  await tracing.shutdown();
});

const finished = (name: string) => {
  const span = tracing.memoryExporter?.getFinishedSpans().find((s) => s.name === name);
  if (!span) throw new Error(`span ${name} was not exported`);
  return span;
};

describe('initTracing', () => {
  it('returns the same tracing on a second call', () => {
    expect(initTracing({ service: 'other', node: 'x', version: '9' })).toBe(tracing);
    expect(tracing.memoryExporter).toBeDefined();
  });

  it('puts service and node on the resource', async () => {
    withSpan(tracing.tracer, 'resource-check', {}, () => undefined);
    const attrs = finished('resource-check').resource.attributes;
    expect(attrs['service.name']).toBe('tracetest');
    expect(attrs['service.version']).toBe('1.2.3');
    expect(attrs['berth.node']).toBe('n1');
  });
});

describe('traceExportersFromEnv', () => {
  it('exports nothing by default', () => {
    expect(traceExportersFromEnv({})).toEqual([]);
  });
  it('exports OTLP when an endpoint is configured', () => {
    expect(traceExportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual(['otlp']);
    expect(traceExportersFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual([
      'otlp',
    ]);
  });
  it('follows OTEL_TRACES_EXPORTER', () => {
    expect(traceExportersFromEnv({ OTEL_TRACES_EXPORTER: 'console' })).toEqual(['console']);
    expect(traceExportersFromEnv({ OTEL_TRACES_EXPORTER: 'otlp, console' })).toEqual(['otlp', 'console']);
    expect(
      traceExportersFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }),
    ).toEqual([]);
  });
  it('rejects an unknown exporter by name', () => {
    expect(() => traceExportersFromEnv({ OTEL_TRACES_EXPORTER: 'otlp,zipkin' })).toThrow(
      /unknown exporter "zipkin".*otlp, console, none/,
    );
  });
});

describe('context propagation', () => {
  it('keeps the trace id through inject and extract', () => {
    const carrier: Record<string, string> = {};
    const producer = withSpan(tracing.tracer, 'producer', { kind: SpanKind.PRODUCER }, (span) => {
      injectContext(carrier);
      expect(currentTraceparent()).toBe(carrier.traceparent);
      return span.spanContext();
    });
    expect(carrier.traceparent).toBe(`00-${producer.traceId}-${producer.spanId}-01`);

    const parent = extractContext(carrier);
    const consumer = withSpan(tracing.tracer, 'consumer', { kind: SpanKind.CONSUMER, parent }, (span) =>
      span.spanContext(),
    );
    expect(consumer.traceId).toBe(producer.traceId);
    expect(finished('consumer').parentSpanContext?.spanId).toBe(producer.spanId);
    expect(finished('consumer').kind).toBe(SpanKind.CONSUMER);
  });

  it('has no traceparent outside a span and extracts nothing from an empty carrier', () => {
    expect(currentTraceparent()).toBeUndefined();
    expect(trace.getSpan(extractContext({}))).toBeUndefined();
    expect(injectContext({})).toEqual({});
  });

  it('ignores a malformed traceparent', () => {
    const ctx = extractContext({ traceparent: 'not-a-traceparent' });
    expect(trace.getSpan(ctx)).toBeUndefined();
  });
});

describe('withSpan', () => {
  it('ends the span and returns the value of a sync function', () => {
    expect(withSpan(tracing.tracer, 'sync-ok', { attributes: { a: 1 } }, () => 42)).toBe(42);
    const span = finished('sync-ok');
    expect(span.attributes.a).toBe(1);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records a sync throw as an error and rethrows it', () => {
    expect(() =>
      withSpan(tracing.tracer, 'sync-fail', {}, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const span = finished('sync-fail');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('boom');
  });

  it('records an async rejection and keeps the span active across awaits', async () => {
    let inside: string | undefined;
    await expect(
      withSpan(tracing.tracer, 'async-fail', {}, async (span) => {
        await new Promise((r) => setTimeout(r, 5));
        inside = trace.getSpan(context.active())?.spanContext().spanId;
        expect(inside).toBe(span.spanContext().spanId);
        throw new Error('later');
      }),
    ).rejects.toThrow('later');
    const span = finished('async-fail');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.spanContext().spanId).toBe(inside);
    expect(span.ended).toBe(true);
  });

  it('resolves the value of an async function after ending the span', async () => {
    await expect(withSpan(tracing.tracer, 'async-ok', {}, async () => 'done')).resolves.toBe('done');
    expect(finished('async-ok').ended).toBe(true);
  });
});

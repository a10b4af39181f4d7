// The process-wide OpenTelemetry tracer provider: W3C trace context, async
// context that follows awaits, exporters picked by the standard OTEL_* env.
import { hostname } from 'node:os';
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { traceExportersFromEnv } from './exporters.js';

export interface TracingOptions {
  service: string;
  node: string;
  version: string;
  /** Also keep finished spans in memory (tests read them from memoryExporter). */
  memory?: boolean;
}

export interface Tracing {
  tracer: Tracer;
  provider: NodeTracerProvider;
  memoryExporter?: InMemorySpanExporter;
  /** Flushes and stops exporters and unregisters the globals; a later initTracing starts afresh. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Sets up tracing for this process once. A second call returns the first
 * call's result unchanged (its options are ignored), so whoever initialises
 * first, e.g. a test asking for `memory: true`, decides.
 */
export function initTracing(opts: TracingOptions): Tracing {
  if (active) return active;
  const spanProcessors: SpanProcessor[] = [];
  for (const kind of traceExportersFromEnv(process.env)) {
    spanProcessors.push(
      kind === 'otlp'
        ? // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
          new BatchSpanProcessor(new OTLPTraceExporter())
        : new SimpleSpanProcessor(new ConsoleSpanExporter()),
    );
  }
  const memoryExporter = opts.memory ? new InMemorySpanExporter() : undefined;
  if (memoryExporter) spanProcessors.push(new SimpleSpanProcessor(memoryExporter));

  const resource = detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({
      'service.name': opts.service,
      'service.version': opts.version,
      'service.instance.id': `${opts.node}/${process.pid}`,
      'host.name': hostname(),
      'berth.node': opts.node,
    }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors });
  // Default context manager of sdk-trace-node: AsyncLocalStorage.
  provider.register({ propagator: new W3CTraceContextPropagator() });

  let stopping: Promise<void> | undefined;
  const tracing: Tracing = {
    tracer: provider.getTracer(opts.service, opts.version),
    provider,
    ...(memoryExporter ? { memoryExporter } : {}),
    shutdown: () => {
      stopping ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
          if (active === tracing) active = undefined;
        }
      })();
      return stopping;
    },
  };
  active = tracing;
  return tracing;
}

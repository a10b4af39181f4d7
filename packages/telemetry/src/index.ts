// @berth/telemetry: logs (pino), traces (OpenTelemetry, W3C propagation) and
// Prometheus metrics, one set per service process. Also the one place other
// packages get OpenTelemetry API names from, so they need no direct dependency.
export {
  createLogger,
  resolveFormat,
  resolveLevel,
  traceFields,
  type LogFormat,
  type LogLevel,
  type Logger,
  type LoggerOptions,
} from './logger.js';
export { initTracing, type Tracing, type TracingOptions } from './tracing.js';
export { traceExportersFromEnv, type TraceExporterKind } from './exporters.js';
export {
  currentTraceparent,
  extractContext,
  injectContext,
  recordError,
  withSpan,
  type Carrier,
  type SpanOptions,
} from './context.js';
export { createMetrics, type Metrics, type MetricsOptions } from './metrics.js';
export { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './metrics-server.js';
export {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
export type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-node';
export type { Counter, Gauge, Histogram, Registry } from 'prom-client';

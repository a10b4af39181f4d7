// Prometheus metrics per service: one registry with the process defaults and
// service/node labels on every series. Nothing listens until serve() is called.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './metrics-server.js';

export interface MetricsOptions {
  service: string;
  node: string;
}

export interface Metrics {
  registry: Registry;
  /** Registers (or returns the already registered) counter `name`. */
  counter<L extends string = string>(name: string, help: string, labels?: readonly L[]): Counter<L>;
  /** Registers (or returns the already registered) histogram `name`; buckets default to prom-client's. */
  histogram<L extends string = string>(
    name: string,
    help: string,
    labels?: readonly L[],
    buckets?: readonly number[],
  ): Histogram<L>;
  /** Registers (or returns the already registered) gauge `name`. */
  gauge<L extends string = string>(name: string, help: string, labels?: readonly L[]): Gauge<L>;
  /** Serves GET /metrics over HTTP (host defaults to 127.0.0.1; port 0 picks a free one). */
  serve(opts: ServeMetricsOptions): Promise<MetricsServer>;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: opts.service, node: opts.node });
  collectDefaultMetrics({ register: registry });

  // Modules may ask for the same metric more than once; hand back the first
  // one, but never silently a metric of another kind.
  const existing = <M extends Metric>(name: string, kind: new (...args: never[]) => M): M | undefined => {
    const found = registry.getSingleMetric(name);
    if (found === undefined) return undefined;
    if (found instanceof kind) return found;
    throw new Error(`metric "${name}" is already registered as a ${found.constructor.name}, not a ${kind.name}`);
  };

  return {
    registry,
    counter: <L extends string>(name: string, help: string, labels: readonly L[] = []) =>
      existing<Counter<L>>(name, Counter) ??
      new Counter<L>({ name, help, labelNames: labels, registers: [registry] }),
    histogram: <L extends string>(name: string, help: string, labels: readonly L[] = [], buckets?: readonly number[]) =>
      existing<Histogram<L>>(name, Histogram) ??
      new Histogram<L>({
        name,
        help,
        labelNames: labels,
        registers: [registry],
        ...(buckets ? { buckets: [...buckets] } : {}),
      }),
    gauge: <L extends string>(name: string, help: string, labels: readonly L[] = []) =>
      existing<Gauge<L>>(name, Gauge) ?? new Gauge<L>({ name, help, labelNames: labels, registers: [registry] }),
    serve: (serveOpts) => serveMetrics(registry, serveOpts),
  };
}

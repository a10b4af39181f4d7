// Which span exporters the standard OTEL_* environment asks for. Pure: reads
// only the env object it is given, so every rule has a unit test.
export type TraceExporterKind = 'otlp' | 'console';

const KNOWN = ['otlp', 'console', 'none'] as const;

/**
 * OTEL_TRACES_EXPORTER is a comma-separated list of otlp | console | none.
 * Unset: otlp when an OTLP endpoint is configured, else nothing (no exporter
 * by default: a service must not try to reach a collector nobody runs).
 */
export function traceExportersFromEnv(env: NodeJS.ProcessEnv): TraceExporterKind[] {
  const raw = env.OTEL_TRACES_EXPORTER?.trim();
  if (!raw) {
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
    return endpoint ? ['otlp'] : [];
  }
  const kinds = raw
    .split(',')
    .map((k) => k.trim().toLowerCase())
    .filter((k) => k !== '');
  for (const kind of kinds) {
    if (!(KNOWN as readonly string[]).includes(kind)) {
      throw new Error(`OTEL_TRACES_EXPORTER="${raw}": unknown exporter "${kind}" (supported: ${KNOWN.join(', ')})`);
    }
  }
  if (kinds.includes('none')) return [];
  return [...new Set(kinds as TraceExporterKind[])];
}

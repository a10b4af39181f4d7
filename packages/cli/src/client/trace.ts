// One W3C trace per berth command: every call the command makes carries the
// same traceparent, so the services' spans for one `berth run` join one trace
// without loading an OpenTelemetry SDK into the CLI (which would cost more
// than the command itself). A caller already inside a trace passes it in
// TRACEPARENT, and the command joins that trace instead.
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value);
  return m !== null && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!);
}

/** The traceparent of this command: TRACEPARENT from the environment when valid, else a new sampled trace. */
export function commandTraceparent(env: NodeJS.ProcessEnv, random: (n: number) => Buffer = randomBytes): string {
  const inherited = env['TRACEPARENT']?.trim().toLowerCase();
  if (inherited && isTraceparent(inherited)) return inherited;
  return `00-${random(16).toString('hex')}-${random(8).toString('hex')}-01`;
}

/** The trace id of a traceparent, for --debug output. */
export const traceIdOf = (traceparent: string): string => traceparent.split('-')[1] ?? '';

// Keeping registry credentials out of the service's log. Messages berth
// writes never hold them; what could is an object logged as is: an error
// carrying the request it failed on (headers with an Authorization value,
// a credentials object) or a payload. The service's logger therefore writes
// errors as their type, message, code, status, stack and cause chain only,
// and redacts the fields where secrets live in anything else.
import type { Logger } from '@berth/telemetry';

/** Fields whose values are secrets wherever they appear (up to a few levels deep). */
const SECRET_KEYS = ['authorization', 'password', 'auth', 'identityToken', 'identitytoken', 'registryToken', 'refreshToken', 'refresh_token', 'access_token', 'credentials'];

/** pino redact paths for SECRET_KEYS at the top level and up to three levels down (and under any headers object). */
export const SECRET_LOG_PATHS: string[] = SECRET_KEYS.flatMap((key) => [
  key,
  `*.${key}`,
  `*.*.${key}`,
  `*.*.*.${key}`,
  `*.headers.${key}`,
  `*.*.headers.${key}`,
]);

/** `logger` with errors (`err`) logged as loggableError and `[redacted]` for the values of SECRET_LOG_PATHS. */
export function safeLogger(logger: Logger): Logger {
  return logger.child({}, { serializers: { err: errSerializer }, redact: { paths: SECRET_LOG_PATHS, censor: '[redacted]' } });
}

/** pino's serializer for `err` fields: errors in their loggable form; anything else as it is (and redacted). */
function errSerializer(value: unknown): unknown {
  return value instanceof Error ? loggableError(value) : value;
}

export interface LoggableError {
  type: string;
  message: string;
  code?: string | number;
  status?: number;
  stack?: string;
  cause?: LoggableError;
}

/** What of an error goes into a log line: no other property (a request, its headers, credentials) ever does. */
export function loggableError(err: unknown, depth = 0): LoggableError {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const e = err as Error & { code?: unknown; status?: unknown; details?: { cause?: unknown } };
  const out: LoggableError = { type: err.name, message: err.message };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.status === 'number') out.status = e.status;
  if (err.stack !== undefined) out.stack = err.stack;
  const cause = err.cause ?? e.details?.cause;
  if (cause !== undefined && depth < 5) out.cause = loggableError(cause, depth + 1);
  return out;
}

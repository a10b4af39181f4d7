// One place that decides which gRPC status a failure travels as.
import * as grpc from '@grpc/grpc-js';
import { StatusError } from '@berth/service-kit';
import { NetworkingError, type NetworkingErrorCode } from '../errors.js';

const CODES: Record<NetworkingErrorCode, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  'not-found': grpc.status.NOT_FOUND,
  'already-exists': grpc.status.ALREADY_EXISTS,
  conflict: grpc.status.FAILED_PRECONDITION,
  'in-use': grpc.status.FAILED_PRECONDITION,
  exhausted: grpc.status.RESOURCE_EXHAUSTED,
  'failed-precondition': grpc.status.FAILED_PRECONDITION,
};

/** The status a failure's cause chain names: a NetworkingError's kind, or a gRPC code an agent call failed with. */
function codeOf(err: unknown, depth = 0): grpc.status | undefined {
  if (depth > 8 || typeof err !== 'object' || err === null) return undefined;
  if (err instanceof NetworkingError) return CODES[err.code];
  if (err instanceof StatusError) return err.code;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && grpc.status[code] !== undefined) return code;
  if (err instanceof AggregateError && err.errors.length > 0) return codeOf(err.errors[0], depth + 1);
  return codeOf((err as { cause?: unknown }).cause, depth + 1);
}

/** Any failure as a StatusError with its whole message; INTERNAL when nothing says otherwise. */
export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StatusError(codeOf(err) ?? grpc.status.INTERNAL, message);
}

// The one place core errors become gRPC statuses: the core names its codes
// after gRPC statuses (strings), so the mapping is a lookup, never a guess
// from message text.
import * as grpc from '@grpc/grpc-js';
import { StatusError } from '@berth/service-kit';
import { messageOf, statusCodeOf } from '../errors.js';

/** A StatusError for anything a handler threw: StatusErrors and gRPC errors pass, core codes are looked up, the rest is INTERNAL. */
export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && grpc.status[code] !== undefined) {
    return new StatusError(code, (err as { details?: string }).details || messageOf(err));
  }
  return new StatusError(grpc.status[statusCodeOf(err)], messageOf(err));
}

/** The status name of a gRPC error from a peer service (e.g. "UNAVAILABLE"), for wrapping it as a core error. */
export function statusName(code: number | undefined): keyof typeof grpc.status {
  const name = code === undefined ? undefined : grpc.status[code];
  return (typeof name === 'string' ? name : 'UNKNOWN') as keyof typeof grpc.status;
}

// gRPC failures as errors a user can act on. Pure: no gRPC import, so it
// loads with nothing and every rule has a unit test.
import { ERROR_REASON_METADATA_KEY } from '@berth/api/metadata';
import { BerthError } from '../output.js';

/** The gRPC status codes the CLI tells apart. */
export const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A failed call to a berth service, with its gRPC code for callers that handle some codes. */
export class CallError extends BerthError {
  constructor(
    message: string,
    readonly code: number,
    readonly service: string,
    options?: ErrorOptions,
    /** The service's berth-error-reason, when it gave one (see ErrorReason in @berth/api/metadata). */
    readonly reason?: string,
  ) {
    super(message, 125, options);
  }
}

/** berth is not running (or this one service is not): how to start it. */
export class StackNotRunningError extends BerthError {}

export function stackNotRunning(service: string, socket: string, why: string): StackNotRunningError {
  return new StackNotRunningError(
    `cannot connect to the berth ${service} service at ${socket} (${why}): the berth stack is not running; start it with \`berth system up\``,
  );
}

/**
 * grpc-js's own words when this client cannot reach the socket. Anchored: a
 * service that cannot reach its own peer relays those words after its own
 * ("the agent at … is unavailable: No connection established"), and that
 * is the service's error to show, not "the stack is not running".
 */
const CONNECT_FAILURE = /^(No connection established|Failed to connect|connect E[A-Z]+)/i;

/** The error a failed call stands for: stack not running, not implemented yet, or the service's own message. */
export function callError(err: unknown, service: string, socket: string, method: string): BerthError {
  const e = err as { code?: unknown; details?: unknown; message?: unknown; metadata?: unknown };
  const code = typeof e?.code === 'number' ? e.code : Code.UNKNOWN;
  const details = typeof e?.details === 'string' && e.details !== '' ? e.details : String(e?.message ?? err);
  const options = { cause: err };
  if (code === Code.UNAVAILABLE && CONNECT_FAILURE.test(details)) {
    return Object.assign(stackNotRunning(service, socket, 'nothing answers there'), { cause: err });
  }
  if (code === Code.UNIMPLEMENTED) {
    return new CallError(`the ${service} service does not implement ${method} yet: ${details}`, code, service, options);
  }
  if (code === Code.DEADLINE_EXCEEDED) {
    return new CallError(`the ${service} service did not answer ${method} in time: ${details}`, code, service, options);
  }
  return new CallError(details, code, service, options, reasonOf(e));
}

/** The berth-error-reason of a failed call's trailing metadata (grpc-js puts it on the error). */
function reasonOf(e: { metadata?: unknown } | null | undefined): string | undefined {
  const md = e?.metadata as { get?: (key: string) => unknown[] } | undefined;
  const value = typeof md?.get === 'function' ? md.get(ERROR_REASON_METADATA_KEY)[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** True when err is a CallError with one of the codes. */
export function hasCode(err: unknown, ...codes: number[]): err is CallError {
  return err instanceof CallError && codes.includes(err.code);
}

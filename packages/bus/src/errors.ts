// Errors the bus raises, each with a stable machine-readable code.

/** Wire form of a failed request: what a serve() handler's throw becomes. */
export interface RpcErrorBody {
  error: { code: string; message: string };
}

/** Wire form of a successful request. */
export interface RpcResultBody<R> {
  result: R;
}

export type RpcReply<R> = RpcResultBody<R> | RpcErrorBody;

/** Well-known codes; handlers may use any others (their `code` travels as is). */
export const RpcCodes = {
  /** Nothing serves the subject. */
  NoResponders: 'NO_RESPONDERS',
  /** A responder exists but did not answer in time. */
  Timeout: 'TIMEOUT',
  /** The request payload was not JSON. */
  BadRequest: 'BAD_REQUEST',
  /** The reply was not a { result } / { error } JSON object. */
  BadReply: 'BAD_REPLY',
  /** The handler threw something without a string `code`. */
  Internal: 'INTERNAL',
  /** The connection was closed or draining. */
  ConnectionClosed: 'CONNECTION_CLOSED',
} as const;

/**
 * A request that failed: thrown by bus.request() with the responder's code
 * and message. Throw one from a serve() handler to choose the code the
 * requester sees (any error with a string `code` property works too).
 */
export class BusRequestError extends Error {
  readonly code: string;
  /** Subject of the request, when known. */
  readonly subject: string | undefined;

  constructor(code: string, message: string, options: { subject?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BusRequestError';
    this.code = code;
    this.subject = options.subject;
  }
}

/** connectBus could not connect; `code` is the NATS client's error code (e.g. AUTHORIZATION_VIOLATION). */
export class BusConnectError extends Error {
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BusConnectError';
    this.code = code;
  }
}

/** The code an error should travel with: its own string `code`, else INTERNAL. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : RpcCodes.Internal;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// JSON request/reply. A reply is { result } or { error: { code, message } };
// the requester gets the result back or a BusRequestError with that code.
import { context, recordError, SpanKind, withSpan } from '@berth/telemetry';
import { NatsError, type Msg } from 'nats';
import { decodeJson, encodeJson } from './codec.js';
import { BusRequestError, errorCode, errorMessage, RpcCodes, type RpcReply } from './errors.js';
import { messagingAttributes, type BusRuntime, type Unsubscribe } from './runtime.js';
import { SUBJECT_ROOT } from './subjects.js';
import { headersWithTrace, messageParentContext } from './trace-headers.js';

export interface RequestOptions {
  /** How long to wait for the reply (default 5000 ms). */
  timeoutMs?: number;
}

export type RequestHandler<P, R> = (payload: P, msg: Msg) => R | Promise<R>;

export interface ServeOptions<P> {
  /**
   * Queue group: each request goes to one member. Default: the service name
   * for berth.rpc.<service>.* subjects (any instance may answer), none otherwise.
   */
  queue?: string;
  /** Checks and types the request (e.g. a zod schema's parse); a throw answers BAD_REQUEST. */
  validatePayload?: (payload: unknown) => P;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

export async function requestReply<R>(
  rt: BusRuntime,
  subject: string,
  payload: unknown,
  opts: RequestOptions = {},
): Promise<R> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return withSpan(
    rt.tracer,
    `request ${subject}`,
    { kind: SpanKind.CLIENT, attributes: messagingAttributes('request', subject) },
    async () => {
      const data = encodeJson(payload, `request to ${subject}`);
      let reply: Msg;
      try {
        reply = await rt.nc.request(subject, data, { timeout: timeoutMs, headers: headersWithTrace(context.active()) });
      } catch (err) {
        throw requestFailure(err, subject, timeoutMs);
      }
      return decodeReply<R>(reply.data, subject);
    },
  );
}

/**
 * Answers requests on `subject`. Handlers run concurrently (one slow request
 * does not hold up the others), each in a SERVER span under the requester's.
 */
export function serveRequests<P, R>(
  rt: BusRuntime,
  subject: string,
  handler: RequestHandler<P, R>,
  opts: ServeOptions<P> = {},
): Unsubscribe {
  const queue = opts.queue ?? defaultQueue(subject);
  const sub = rt.nc.subscribe(subject, {
    ...(queue !== undefined ? { queue } : {}),
    callback: (err, msg) => {
      if (err) {
        rt.log.error({ err, subject }, 'request subscription failed');
        return;
      }
      void answer(rt, msg, handler, opts.validatePayload);
    },
  });
  return () => {
    if (!sub.isClosed()) sub.unsubscribe();
  };
}

/** berth.rpc.<service>.<verb> is served by any instance of <service>: one queue group per service. */
function defaultQueue(subject: string): string | undefined {
  const tokens = subject.split('.');
  return tokens[0] === SUBJECT_ROOT && tokens[1] === 'rpc' && tokens.length >= 4 ? tokens[2] : undefined;
}

async function answer<P, R>(
  rt: BusRuntime,
  msg: Msg,
  handler: RequestHandler<P, R>,
  validatePayload: ((payload: unknown) => P) | undefined,
): Promise<void> {
  await withSpan(
    rt.tracer,
    `serve ${msg.subject}`,
    { kind: SpanKind.SERVER, parent: messageParentContext(msg.headers), attributes: messagingAttributes('process', msg.subject) },
    async (span) => {
      let body: RpcReply<unknown>;
      try {
        const payload = parseRequest(msg, validatePayload);
        body = { result: (await handler(payload, msg)) ?? null };
      } catch (err) {
        const code = errorCode(err);
        recordError(span, err);
        rt.log[code === RpcCodes.Internal ? 'error' : 'warn']({ err, subject: msg.subject, code }, 'request failed');
        body = { error: { code, message: errorMessage(err) } };
      }
      if (!msg.reply) return; // published, not requested: nobody waits for an answer
      let data: Uint8Array;
      try {
        data = encodeJson(body, `reply on ${msg.subject}`);
      } catch (err) {
        rt.log.error({ err, subject: msg.subject }, 'reply could not be encoded');
        data = encodeJson({ error: { code: RpcCodes.Internal, message: errorMessage(err) } }, 'error reply');
      }
      try {
        msg.respond(data);
      } catch (err) {
        rt.log.warn({ err, subject: msg.subject }, 'reply could not be sent');
      }
    },
  );
}

function parseRequest<P>(msg: Msg, validatePayload: ((payload: unknown) => P) | undefined): P {
  let payload: unknown;
  try {
    payload = msg.data.length === 0 ? null : decodeJson(msg.data, `request on ${msg.subject}`);
    return validatePayload ? validatePayload(payload) : (payload as P);
  } catch (err) {
    throw new BusRequestError(RpcCodes.BadRequest, `bad request on ${msg.subject}: ${errorMessage(err)}`, {
      subject: msg.subject,
      cause: err,
    });
  }
}

/** The result of a reply, or its error rethrown as a BusRequestError. */
export function decodeReply<R>(data: Uint8Array, subject: string): R {
  let value: unknown;
  try {
    value = decodeJson(data, `reply on ${subject}`);
  } catch (err) {
    throw new BusRequestError(RpcCodes.BadReply, errorMessage(err), { subject, cause: err });
  }
  if (typeof value === 'object' && value !== null) {
    const reply = value as Record<string, unknown>;
    const error = reply.error as { code?: unknown; message?: unknown } | undefined;
    if (typeof error === 'object' && error !== null && typeof error.code === 'string') {
      throw new BusRequestError(error.code, typeof error.message === 'string' ? error.message : `${error.code} on ${subject}`, {
        subject,
      });
    }
    if ('result' in reply) return reply.result as R;
  }
  throw new BusRequestError(RpcCodes.BadReply, `reply on ${subject} is neither { result } nor { error }: ${JSON.stringify(value)?.slice(0, 120)}`, {
    subject,
  });
}

function requestFailure(err: unknown, subject: string, timeoutMs: number): BusRequestError {
  const code = err instanceof NatsError ? err.code : undefined;
  switch (code) {
    case '503':
      return new BusRequestError(RpcCodes.NoResponders, `no responders for ${subject}: nothing is serving it`, {
        subject,
        cause: err,
      });
    case 'TIMEOUT':
      return new BusRequestError(RpcCodes.Timeout, `no reply on ${subject} within ${timeoutMs} ms`, { subject, cause: err });
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_DRAINING':
      return new BusRequestError(RpcCodes.ConnectionClosed, `request on ${subject} failed: the NATS connection is closed`, {
        subject,
        cause: err,
      });
    default:
      return new BusRequestError(code ?? RpcCodes.Internal, `request on ${subject} failed: ${errorMessage(err)}`, {
        subject,
        cause: err,
      });
  }
}

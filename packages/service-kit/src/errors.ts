import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';

/** An error that knows the gRPC status it should travel as. */
export class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

export const notFound = (msg: string) => new StatusError(grpc.status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new StatusError(grpc.status.ALREADY_EXISTS, msg);
export const invalidArgument = (msg: string) => new StatusError(grpc.status.INVALID_ARGUMENT, msg);
export const failedPrecondition = (msg: string) => new StatusError(grpc.status.FAILED_PRECONDITION, msg);
export const unavailable = (msg: string) => new StatusError(grpc.status.UNAVAILABLE, msg);

/** Maps any thrown value to a grpc-js error object for a callback or stream. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> & Error {
  if (err instanceof StatusError) return Object.assign(new Error(err.message), { code: err.code, details: err.message });
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number' && grpc.status[code] !== undefined) return err as grpc.ServiceError;
  const msg = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(msg), { code: grpc.status.INTERNAL, details: msg });
}

/**
 * Ends a server-streaming or bidi call with an error status (grpc-js takes an
 * 'error' event as the status). A call its client has left has no status to
 * send, and an event nobody listens to any more would be thrown, ending the
 * service: such a call is left alone.
 */
export function failStreamingCall<Req, Res>(call: grpc.ServerWritableStream<Req, Res> | grpc.ServerDuplexStream<Req, Res>, err: Error): void {
  if (call.cancelled || call.destroyed || call.listenerCount('error') === 0) return;
  call.emit('error', err);
}

/** A streaming call's one ending, see callEnding. */
export interface CallEnding<Res> {
  /** True once end() or fail() was called. */
  readonly ended: boolean;
  /** Ends with OK, after `last` when given; nothing once ended. */
  end(last?: Res): void;
  /** Ends with err's status (failStreamingCall); nothing once ended. */
  fail(err: unknown): void;
}

/**
 * Ends a server-streaming or bidi call once, with OK or with an error,
 * whichever comes first: the paths of a streaming handler (its exit frame,
 * a failure, the client leaving) race to end it. toError makes err a status.
 */
export function callEnding<Req, Res>(
  call: grpc.ServerWritableStream<Req, Res> | grpc.ServerDuplexStream<Req, Res>,
  toError: (err: unknown) => Error = toServiceError,
): CallEnding<Res> {
  let ended = false;
  return {
    get ended() {
      return ended;
    },
    end(last?: Res) {
      if (ended) return;
      ended = true;
      if (last !== undefined) call.write(last);
      call.end();
    },
    fail(err: unknown) {
      if (ended) return;
      ended = true;
      failStreamingCall(call, toError(err));
    },
  };
}

/** Adapts an async function to a grpc-js unary handler. */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err) as grpc.ServiceError),
      );
  };
}

/** Adapts an async generator to a grpc-js server-streaming handler. */
export function serverStream<Req, Res>(
  fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => AsyncIterable<Res>,
) {
  return (call: grpc.ServerWritableStream<Req, Res>) => {
    (async () => {
      for await (const msg of fn(call.request, call)) {
        if (call.cancelled) return;
        if (!call.write(msg) && !(await drainedOrCancelled(call))) return;
      }
      call.end();
    })().catch((err) => {
      if (!call.cancelled) call.emit('error', toServiceError(err));
    });
  };
}

/** Waits for a full stream to drain; false when the client went away first (no drain ever comes). */
export function drainedOrCancelled<Req, Res>(call: grpc.ServerWritableStream<Req, Res> | grpc.ServerDuplexStream<Req, Res>): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (drained: boolean) => () => {
      call.off('drain', onDrain);
      call.off('cancelled', onCancel);
      call.off('close', onCancel);
      resolve(drained);
    };
    const onDrain = done(true);
    const onCancel = done(false);
    call.once('drain', onDrain);
    call.once('cancelled', onCancel);
    call.once('close', onCancel);
  });
}

/** Adapts an async function over the request stream to a client-streaming handler. */
export function clientStream<Req, Res>(
  fn: (requests: AsyncIterable<Req>, call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>,
) {
  return (call: grpc.ServerReadableStream<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    // Not `for await` over the call itself: that iterator destroys the stream
    // once read to the end, before the response could be sent.
    const requests = (call as unknown as Readable).iterator({ destroyOnReturn: false }) as AsyncIterable<Req>;
    fn(requests, call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err) as grpc.ServiceError),
    );
  };
}

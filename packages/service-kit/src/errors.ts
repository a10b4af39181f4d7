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
        if (!call.write(msg)) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    })().catch((err) => call.emit('error', toServiceError(err)));
  };
}

/** Adapts an async function over the request stream to a client-streaming handler. */
export function clientStream<Req, Res>(
  fn: (requests: AsyncIterable<Req>, call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>,
) {
  return (call: grpc.ServerReadableStream<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    fn(call as unknown as AsyncIterable<Req>, call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err) as grpc.ServiceError),
    );
  };
}

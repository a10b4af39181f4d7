// Promise form of a generated client's unary method, with the namespace in
// metadata, a deadline, cancellation, and the neighbour named in errors.
import * as grpc from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY } from '@berth/api';
import { errorMessage, TasksError } from '../errors.js';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export interface CallOptions {
  namespace?: string | undefined;
  /** Deadline from now; undefined for none (e.g. WaitTask). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** A neighbour as errors name it, e.g. "agent at unix:/run/berth/agent.sock". */
export interface Peer {
  name: string;
  address: string;
}

/**
 * Calls `method` (bound to its client). An UNAVAILABLE or DEADLINE_EXCEEDED
 * answer becomes an UNAVAILABLE error naming the neighbour and its address;
 * other errors keep their code and message.
 */
export function callUnary<Req, Res>(peer: Peer, method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions = {}): Promise<Res> {
  const metadata = new grpc.Metadata();
  if (opts.namespace !== undefined) metadata.set(NAMESPACE_METADATA_KEY, opts.namespace);
  const callOptions: Partial<grpc.CallOptions> = opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
  return new Promise<Res>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new TasksError(grpc.status.CANCELLED, `call to the ${peer.name} cancelled`));
    const call = method(request, metadata, callOptions, (error, response) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (!error) return resolve(response);
      if (error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED) {
        return reject(
          new TasksError(grpc.status.UNAVAILABLE, `the ${peer.name} at ${peer.address} is unavailable: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      }
      reject(error);
    });
    const onAbort = () => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

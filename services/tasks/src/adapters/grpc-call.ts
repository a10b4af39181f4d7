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
 * How long a call keeps trying to reach a neighbour it has no connection to:
 * one that just restarted is reconnected to within a second (service-kit's
 * backoff), and a call made meanwhile should wait for it, not fail.
 */
const RECONNECT_GRACE_MS = 2000;
const RETRY_EVERY_MS = 100;

/** grpc-js's answer for a call it never sent: there is no connection to the neighbour (yet). Safe to retry. */
export function wasNotSent(error: grpc.ServiceError): boolean {
  return error.code === grpc.status.UNAVAILABLE && /^No connection established/.test(error.details ?? '');
}

/**
 * Calls `method` (bound to its client). A call that could not be sent for
 * want of a connection is retried for a moment. An UNAVAILABLE or
 * DEADLINE_EXCEEDED answer becomes an UNAVAILABLE error naming the neighbour
 * and its address; other errors keep their code and message.
 */
export async function callUnary<Req, Res>(peer: Peer, method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions = {}): Promise<Res> {
  const until = Date.now() + RECONNECT_GRACE_MS;
  for (;;) {
    try {
      return await callOnce(peer, method, request, opts);
    } catch (error) {
      if (!(error instanceof TasksError) && isServiceError(error)) {
        if (wasNotSent(error) && Date.now() < until && !opts.signal?.aborted) {
          await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
          continue;
        }
        if (error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED) {
          throw new TasksError(grpc.status.UNAVAILABLE, `the ${peer.name} at ${peer.address} is unavailable: ${errorMessage(error)}`, { cause: error });
        }
      }
      throw error;
    }
  }
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === 'number';
}

function callOnce<Req, Res>(peer: Peer, method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions): Promise<Res> {
  const metadata = new grpc.Metadata();
  if (opts.namespace !== undefined) metadata.set(NAMESPACE_METADATA_KEY, opts.namespace);
  const callOptions: Partial<grpc.CallOptions> = opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
  return new Promise<Res>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new TasksError(grpc.status.CANCELLED, `call to the ${peer.name} cancelled`));
    const call = method(request, metadata, callOptions, (error, response) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (!error) return resolve(response);
      reject(error);
    });
    const onAbort = () => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// Handler adapters for the images APIs: the service kit's adapters with every
// thrown error mapped by toStatusError (and logged when it is a fault of ours),
// a bidi adapter, and the request's namespace.
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_NAMESPACE, NAMESPACE_METADATA_KEY } from '@berth/api';
import { assertNamespace } from '@berth/bus';
import { clientStream, serverStream, unary, toServiceError, type StatusError } from '@berth/service-kit';
import type { Logger } from '@berth/telemetry';
import { invalidArgument, messageOf } from '../errors.js';
import { validateNamespace } from '../images.js';
import { toStatusError } from './status.js';

/** Codes that mean a bug or a broken store rather than a caller's mistake: worth a log line. */
const FAULTS = new Set<number>([grpc.status.UNKNOWN, grpc.status.INTERNAL, grpc.status.DATA_LOSS]);

export interface Handlers {
  unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res>;
  serverStream<Req, Res>(
    fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => AsyncIterable<Res>,
  ): grpc.handleServerStreamingCall<Req, Res>;
  clientStream<Req, Res>(
    fn: (requests: AsyncIterable<Req>, call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>,
  ): grpc.handleClientStreamingCall<Req, Res>;
  /** A bidi handler: `fn` reads requests and sends answers; its return ends the stream, its throw fails it. */
  bidiStream<Req, Res>(
    fn: (requests: AsyncIterable<Req>, send: (res: Res) => Promise<void>, call: grpc.ServerDuplexStream<Req, Res>) => Promise<void>,
  ): grpc.handleBidiStreamingCall<Req, Res>;
}

export function createHandlers(logger: Logger): Handlers {
  const mapped = (err: unknown, call: { getPath(): string }): StatusError => {
    const status = toStatusError(err);
    if (FAULTS.has(status.code)) {
      const method = call.getPath();
      logger.error({ err, method, code: status.code }, `${method} failed: ${status.message}`);
    }
    return status;
  };
  return {
    unary: (fn) =>
      unary(async (req, call) => {
        try {
          return await fn(req, call);
        } catch (err) {
          throw mapped(err, call);
        }
      }),
    serverStream: (fn) =>
      serverStream(async function* (req, call) {
        try {
          yield* fn(req, call);
        } catch (err) {
          throw mapped(err, call);
        }
      }),
    clientStream: (fn) =>
      clientStream(async (requests, call) => {
        try {
          return await fn(requests, call);
        } catch (err) {
          throw mapped(err, call);
        }
      }),
    bidiStream: (fn) => bidi(fn, mapped),
  };
}

function bidi<Req, Res>(
  fn: (requests: AsyncIterable<Req>, send: (res: Res) => Promise<void>, call: grpc.ServerDuplexStream<Req, Res>) => Promise<void>,
  mapped: (err: unknown, call: { getPath(): string }) => StatusError,
): grpc.handleBidiStreamingCall<Req, Res> {
  return (call) => {
    const send = (res: Res) =>
      new Promise<void>((resolve, reject) => {
        if (call.cancelled || call.destroyed) return reject(new Error('the client went away'));
        if (call.write(res)) resolve();
        else call.once('drain', () => resolve());
      });
    // Reading must not destroy the call when the client half-closes: the answer still goes out after that.
    const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterable<Req>;
    fn(requests, send, call).then(
      () => call.end(),
      (err: unknown) => {
        if (!call.cancelled) call.emit('error', toServiceError(mapped(err, call)));
      },
    );
  };
}

/** The namespace a call acts in (metadata berth-namespace, default "default"), checked for use in records and NATS subjects. */
export function namespaceOf(call: { metadata: grpc.Metadata }): string {
  const given = call.metadata.get(NAMESPACE_METADATA_KEY)[0];
  const namespace = given === undefined || given === '' ? DEFAULT_NAMESPACE : String(given);
  validateNamespace(namespace);
  try {
    assertNamespace(namespace);
  } catch (err) {
    throw invalidArgument(`invalid namespace ${JSON.stringify(namespace)} (metadata ${NAMESPACE_METADATA_KEY}): ${messageOf(err)}`);
  }
  return namespace;
}

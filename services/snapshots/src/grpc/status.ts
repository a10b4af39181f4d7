import * as grpc from '@grpc/grpc-js';
import { StatusError, serverStream, unary } from '@berth/service-kit';
import type { Logger } from '@berth/telemetry';
import { SnapshotError, type SnapshotErrorCode } from '../errors.js';

const STATUS: Record<SnapshotErrorCode, grpc.status> = {
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  data_loss: grpc.status.DATA_LOSS,
  internal: grpc.status.INTERNAL,
};

/** The core's error codes map 1:1 onto gRPC status codes; anything else passes through (INTERNAL unless it has a status). */
export function toStatusError(err: unknown): unknown {
  if (err instanceof SnapshotError) return new StatusError(STATUS[err.code], err.message);
  return err;
}

function isInternal(err: unknown): boolean {
  if (err instanceof SnapshotError) return err.code === 'internal';
  if (err instanceof StatusError) return err.code === grpc.status.INTERNAL;
  return typeof (err as { code?: unknown })?.code !== 'number';
}

/** Handler adapters that translate core errors and log the unexpected ones. */
export function rpcAdapters(logger: Logger) {
  const fail = (method: string, err: unknown): never => {
    if (isInternal(err)) logger.error({ err, method }, `${method} failed`);
    throw toStatusError(err);
  };
  return {
    unary: <Req, Res>(method: string, fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) =>
      unary<Req, Res>(async (req, call) => {
        try {
          return await fn(req, call);
        } catch (err) {
          return fail(method, err);
        }
      }),
    serverStream: <Req, Res>(method: string, fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => AsyncIterable<Res>) =>
      serverStream<Req, Res>(async function* (req, call) {
        try {
          yield* fn(req, call);
        } catch (err) {
          fail(method, err);
        }
      }),
  };
}

export type RpcAdapters = ReturnType<typeof rpcAdapters>;

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

/**
 * Handler adapters that translate core errors, log the unexpected ones and
 * keep count of running calls, so shutdown can wait for them before the
 * snapshotter closes (a call cut off by the drain timeout still finishes
 * its work or its cleanup).
 */
export function rpcAdapters(logger: Logger) {
  const running = new Set<Promise<unknown>>();
  const track = (): (() => void) => {
    let done!: () => void;
    const p = new Promise<void>((resolve) => (done = resolve));
    running.add(p);
    return () => {
      running.delete(p);
      done();
    };
  };
  const fail = (method: string, err: unknown): never => {
    if (isInternal(err)) logger.error({ err, method }, `${method} failed`);
    throw toStatusError(err);
  };
  return {
    unary: <Req, Res>(method: string, fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) =>
      unary<Req, Res>(async (req, call) => {
        const finished = track();
        try {
          return await fn(req, call);
        } catch (err) {
          return fail(method, err);
        } finally {
          finished();
        }
      }),
    serverStream: <Req, Res>(method: string, fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => AsyncIterable<Res>) =>
      serverStream<Req, Res>(async function* (req, call) {
        const finished = track();
        try {
          yield* fn(req, call);
        } catch (err) {
          fail(method, err);
        } finally {
          finished();
        }
      }),
    /** Resolves when no call is running. */
    idle: async (): Promise<void> => {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}

export type RpcAdapters = ReturnType<typeof rpcAdapters>;

// The unary adapter every networking handler goes through: the request's
// namespace (gRPC metadata "berth-namespace", else the configured one), the
// events the request causes published before it answers, and failures mapped
// to their status (faults of ours logged).
import * as grpc from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY } from '@berth/api';
import { assertNamespace } from '@berth/bus';
import { invalidArgument, unary } from '@berth/service-kit';
import type { EventPublisher } from '../events.js';
import { toStatusError } from './status.js';

export interface HandlerLogger {
  error(obj: object, msg: string): void;
}

export interface HandlerContext {
  events: EventPublisher;
  /** Namespace of requests that name none. */
  defaultNamespace: string;
  logger: HandlerLogger;
}

export type Rpc = <Req, Res>(fn: (req: Req, namespace: string) => Promise<Res>) => grpc.handleUnaryCall<Req, Res>;

function namespaceOf(metadata: grpc.Metadata, fallback: string): string {
  const first = metadata.get(NAMESPACE_METADATA_KEY)[0];
  if (first === undefined) return fallback;
  const ns = typeof first === 'string' ? first : first.toString('utf8');
  try {
    assertNamespace(ns);
  } catch (e) {
    throw invalidArgument(`metadata ${NAMESPACE_METADATA_KEY}: ${(e as Error).message}`);
  }
  return ns;
}

const FAULTS = new Set([grpc.status.UNKNOWN, grpc.status.INTERNAL]);

export function createRpc(ctx: HandlerContext): Rpc {
  return (fn) =>
    unary(async (req, call) => {
      try {
        const ns = namespaceOf(call.metadata, ctx.defaultNamespace);
        return await ctx.events.inScope(ns, () => fn(req, ns));
      } catch (err) {
        const status = toStatusError(err);
        if (FAULTS.has(status.code)) ctx.logger.error({ err, method: call.getPath() }, `${call.getPath()} failed: ${status.message}`);
        throw status;
      }
    });
}

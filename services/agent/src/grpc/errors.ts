// From the agent core's errors to gRPC statuses, in one place. A command that
// cannot run keeps Docker's exit code (127 not found, 126 not executable)
// visible to callers: in the message and in the trailing metadata key
// berth-exit-code.
import * as grpc from '@grpc/grpc-js';
import { toServiceError, unary } from '@berth/service-kit';
import { ContainerError, MountError, SpecError, type ContainerErrorCode } from '../errors.js';

export const EXIT_CODE_METADATA_KEY = 'berth-exit-code';

const STATUS: Record<ContainerErrorCode, grpc.status> = {
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_RUNNING: grpc.status.FAILED_PRECONDITION,
  IS_RUNNING: grpc.status.FAILED_PRECONDITION,
  INVALID_STATE: grpc.status.FAILED_PRECONDITION,
  // The command named in the request does not exist or cannot run in that image: bad input.
  COMMAND_NOT_FOUND: grpc.status.INVALID_ARGUMENT,
  COMMAND_NOT_EXECUTABLE: grpc.status.INVALID_ARGUMENT,
  // The monitor died without recording the exit code: that information is lost.
  EXIT_UNKNOWN: grpc.status.DATA_LOSS,
  RUNTIME_FAILED: grpc.status.INTERNAL,
};

export type GrpcError = Error & { code: grpc.status; details: string; metadata?: grpc.Metadata };

function statusError(code: grpc.status, message: string, metadata?: grpc.Metadata): GrpcError {
  return Object.assign(new Error(message), { code, details: message, ...(metadata ? { metadata } : {}) });
}

/** The gRPC error for anything a handler threw. */
export function grpcError(err: unknown): Partial<grpc.StatusObject> & Error {
  if (err instanceof ContainerError) {
    if (err.exitCode !== undefined) {
      const metadata = new grpc.Metadata();
      metadata.set(EXIT_CODE_METADATA_KEY, String(err.exitCode));
      return statusError(STATUS[err.code], `${err.message} (exit code ${err.exitCode})`, metadata);
    }
    return statusError(STATUS[err.code], err.message);
  }
  if (err instanceof MountError || err instanceof SpecError) return statusError(grpc.status.INVALID_ARGUMENT, err.message);
  return toServiceError(err);
}

/** service-kit's unary adapter, with the agent's error mapping. */
export function rpc<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return unary<Req, Res>(async (req, call) => {
    try {
      return await fn(req, call);
    } catch (err) {
      throw grpcError(err);
    }
  });
}

/** An AbortSignal that fires when the client cancels the call (or its deadline passes). */
export function cancelSignal(call: { on(event: 'cancelled', listener: () => void): unknown }): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort(statusError(grpc.status.CANCELLED, 'the call was cancelled')));
  return controller.signal;
}

export { statusError };

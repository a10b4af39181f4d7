// Errors that know the gRPC status they travel as. The service kit's handler
// adapters keep any error carrying a numeric gRPC `code`, so these reach the
// caller with their code and message unchanged.
import { Metadata, status } from '@grpc/grpc-js';
import { ERROR_REASON_METADATA_KEY, ErrorReason } from '@berth/api/metadata';

export { status as GrpcStatus };

/** An error with the gRPC status code it should be answered with. */
export class TasksError extends Error {
  /** grpc-js reads `details` for the status message. */
  readonly details: string;
  /** The exit code a failed start means (Docker's 127 not found, 126 not executable), as the agent said; else undefined. */
  readonly exitCode: number | undefined;
  /** grpc-js sends it as the status's trailing metadata: the error reason, when there is one. */
  readonly metadata: Metadata | undefined;

  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown; exitCode?: number | undefined; reason?: ErrorReason | undefined },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'TasksError';
    this.details = message;
    this.exitCode = options?.exitCode;
    if (options?.reason !== undefined) {
      this.metadata = new Metadata();
      this.metadata.set(ERROR_REASON_METADATA_KEY, options.reason);
    }
  }

  /** The reason this error carries to the caller, if any. */
  get reason(): ErrorReason | undefined {
    return this.metadata?.get(ERROR_REASON_METADATA_KEY)[0] as ErrorReason | undefined;
  }
}

export const invalidArgument = (message: string) => new TasksError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new TasksError(status.NOT_FOUND, message);
/** NOT_FOUND saying the image is missing, which a client can pull and retry. */
export const imageNotFound = (message: string, cause?: unknown) =>
  new TasksError(status.NOT_FOUND, message, { cause, reason: ErrorReason.IMAGE_NOT_FOUND });
export const alreadyExists = (message: string) => new TasksError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new TasksError(status.FAILED_PRECONDITION, message);
export const unavailable = (message: string, cause?: unknown) =>
  new TasksError(status.UNAVAILABLE, message, { cause });
export const internal = (message: string, cause?: unknown) => new TasksError(status.INTERNAL, message, { cause });

/** The gRPC status code of an error from a neighbour or from this service; undefined when it has none. */
export function grpcCode(error: unknown): status | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && status[code] !== undefined ? (code as status) : undefined;
}

/** True when `error` carries NOT_FOUND. */
export const isNotFound = (error: unknown) => grpcCode(error) === status.NOT_FOUND;

/** The message of any thrown value, without grpc-js's "5 NOT_FOUND: " prefix. */
export function errorMessage(error: unknown): string {
  if (error === null || error === undefined) return String(error);
  const details = (error as { details?: unknown }).details;
  if (typeof details === 'string' && details !== '') return details;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Rewraps a neighbour's error with what we were doing, keeping its status code
 * (INTERNAL when it had none) so a caller still sees e.g. NOT_FOUND.
 */
export function withContext(error: unknown, doing: string): TasksError {
  if (error instanceof TasksError && error.message.startsWith(doing)) return error;
  const code = grpcCode(error) ?? status.INTERNAL;
  const exitCode = error instanceof TasksError ? error.exitCode : undefined;
  const reason = error instanceof TasksError ? error.reason : undefined;
  return new TasksError(code, `${doing}: ${errorMessage(error)}`, { cause: error, exitCode, reason });
}

// Errors the agent core raises. Each carries a stable code the gRPC layer maps
// to a status (NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT, FAILED_PRECONDITION,
// INTERNAL) and, for exec failures, the exit code Docker would report.

export type ContainerErrorCode =
  /** No container (or exec session) with that id in the state dir. */
  | 'NOT_FOUND'
  /** A container with that id already exists. */
  | 'ALREADY_EXISTS'
  /** The request itself is malformed (bad id, signal, size, spec...). */
  | 'INVALID_ARGUMENT'
  /** The operation needs a live container process, and there is none. */
  | 'NOT_RUNNING'
  /** The operation needs a stopped container (e.g. delete without force). */
  | 'IS_RUNNING'
  /** The container is in the wrong state for the operation (e.g. start after exit). */
  | 'INVALID_STATE'
  /** The process' executable was not found (exit code 127, like Docker). */
  | 'COMMAND_NOT_FOUND'
  /** The process' executable could not be executed (exit code 126, like Docker). */
  | 'COMMAND_NOT_EXECUTABLE'
  /** The container's monitor died without recording an exit code. */
  | 'EXIT_UNKNOWN'
  /** runc, conmon or the kernel refused for a reason not covered above. */
  | 'RUNTIME_FAILED';

export class ContainerError extends Error {
  override readonly name = 'ContainerError';
  readonly code: ContainerErrorCode;
  readonly containerId: string | undefined;
  /** Set for COMMAND_NOT_FOUND (127) and COMMAND_NOT_EXECUTABLE (126). */
  readonly exitCode: number | undefined;

  constructor(
    code: ContainerErrorCode,
    message: string,
    opts: { containerId?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.containerId = opts.containerId;
    this.exitCode = opts.exitCode;
  }
}

export function isContainerError(err: unknown, code?: ContainerErrorCode): err is ContainerError {
  return err instanceof ContainerError && (code === undefined || err.code === code);
}

export { SpecError } from '@berth/runtime-spec';

/** Errors from mounting or unmounting a container rootfs: the mount library's own, so instanceof checks hold. */
export { MountError } from '@berth/mount';

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

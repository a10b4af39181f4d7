/**
 * Errors carry a code the gRPC layer maps 1:1 onto a status code
 * (not_found → NOT_FOUND, …), so callers never parse messages.
 */
export type SnapshotErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'invalid_argument'
  | 'data_loss'
  | 'internal';

export class SnapshotError extends Error {
  override readonly name: string = 'SnapshotError';
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A layer was refused: hostile or malformed content (path escape, corrupt
 * compression, digest mismatch, …). `entry` names the tar member when one is
 * to blame.
 */
export class LayerError extends SnapshotError {
  override readonly name: string = 'LayerError';
  constructor(
    message: string,
    readonly entry?: string,
    options?: { cause?: unknown; code?: SnapshotErrorCode },
  ) {
    super(options?.code ?? 'invalid_argument', message, options);
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

// Errors of spec building and user resolution: always a caller mistake (or
// an image that cannot satisfy the request), naming the option at fault.

export class SpecError extends Error {
  override readonly name = 'SpecError';
  /** Which option was wrong, e.g. "user", "mounts[2].target", "image StopSignal". */
  readonly field: string;
  /** What was wrong, without the field. */
  readonly reason: string;

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.field = field;
    this.reason = reason;
  }
}

// Errors of the spec builder: always a caller mistake, naming the option.

export class SpecError extends Error {
  override readonly name = 'SpecError';
  /** Which option was wrong, e.g. "memory" or "mounts[2].target". */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

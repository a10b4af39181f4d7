/** What kind of failure, so the gRPC layer can map it to a status code. */
export type NetworkingErrorCode =
  | 'invalid-argument' // bad input: name, CIDR, port spec, ...
  | 'not-found' // unknown network or attachment
  | 'already-exists' // duplicate name, container already attached
  | 'conflict' // overlapping subnet, taken host port, taken static IP
  | 'in-use' // network still has containers
  | 'exhausted' // no addresses or subnets left
  | 'failed-precondition'; // e.g. mixing host mode with other networks

export class NetworkingError extends Error {
  readonly code: NetworkingErrorCode;
  constructor(code: NetworkingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkingError';
    this.code = code;
  }
}

export function invalid(message: string, cause?: unknown): NetworkingError {
  return new NetworkingError('invalid-argument', message, cause === undefined ? undefined : { cause });
}

/** Runs a check from @berth/cni (which throws plain Errors) and reports its failure as bad input. */
export function asInvalid<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw invalid((e as Error).message, e);
  }
}

// Errors of the images service core. Each carries a stable, transport-neutral
// `code` (named after the gRPC status it should travel as) so the gRPC layer
// maps it without matching on message text. Errors from @berth/oci keep their
// own codes (INVALID_DIGEST, DIGEST_MISMATCH, ...); see grpcCodeName below.

export type ImagesErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'DEADLINE_EXCEEDED'
  | 'RESOURCE_EXHAUSTED'
  | 'DATA_LOSS'
  | 'ABORTED'
  | 'CANCELLED'
  | 'INTERNAL'
  // The rest of gRPC's codes, for errors relayed from a neighbour service.
  | 'UNKNOWN'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED';

export class ImagesError extends Error {
  readonly code: ImagesErrorCode;
  constructor(code: ImagesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export const notFound = (msg: string, cause?: unknown) => new ImagesError('NOT_FOUND', msg, { cause });
export const alreadyExists = (msg: string) => new ImagesError('ALREADY_EXISTS', msg);
export const invalidArgument = (msg: string, cause?: unknown) => new ImagesError('INVALID_ARGUMENT', msg, { cause });
export const failedPrecondition = (msg: string, cause?: unknown) =>
  new ImagesError('FAILED_PRECONDITION', msg, { cause });
export const dataLoss = (msg: string, cause?: unknown) => new ImagesError('DATA_LOSS', msg, { cause });

/** Codes from @berth/oci errors mapped to the status names above. */
const OCI_CODES: Record<string, ImagesErrorCode> = {
  INVALID_DIGEST: 'INVALID_ARGUMENT',
  DIGEST_MISMATCH: 'DATA_LOSS',
  SIZE_MISMATCH: 'DATA_LOSS',
  INVALID_DOCUMENT: 'INVALID_ARGUMENT',
  DOCUMENT_TOO_LARGE: 'RESOURCE_EXHAUSTED',
  UNSUPPORTED_MEDIA_TYPE: 'INVALID_ARGUMENT',
  INVALID_REFERENCE: 'INVALID_ARGUMENT',
  INVALID_PLATFORM: 'INVALID_ARGUMENT',
  NO_MATCHING_PLATFORM: 'NOT_FOUND',
};

/** The status name an error should travel as (ImagesError, OciError or anything else). */
export function statusCodeOf(err: unknown): ImagesErrorCode {
  if (err instanceof ImagesError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in OCI_CODES) return OCI_CODES[code]!;
  if ((err as { name?: unknown } | null)?.name === 'AbortError') return 'CANCELLED';
  return 'INTERNAL';
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

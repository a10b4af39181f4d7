// Error classes for everything this package rejects. Each carries a stable
// `code` so callers (e.g. a gRPC service) can map it to a status without
// matching on message text, and keeps the offending input for the report.

export type OciErrorCode =
  | 'INVALID_DIGEST'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'INVALID_DOCUMENT'
  | 'DOCUMENT_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_REFERENCE'
  | 'INVALID_PLATFORM'
  | 'NO_MATCHING_PLATFORM';

export class OciError extends Error {
  readonly code: OciErrorCode;
  constructor(code: OciErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A string that is not a well-formed digest (or uses an unsupported algorithm). */
export class InvalidDigestError extends OciError {
  constructor(
    readonly input: string,
    readonly reason: string,
    /** Where the digest came from (e.g. "rootfs.diff_ids[2]"), prefixed to the message. */
    readonly path?: string,
  ) {
    super(
      'INVALID_DIGEST',
      `${path ? `${path}: ` : ''}invalid digest ${JSON.stringify(input)}: ${reason}`,
    );
  }
}

/** Content whose digest differs from the one it was expected to have. */
export class DigestMismatchError extends OciError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super('DIGEST_MISMATCH', `digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** Content whose length differs from the one it was expected to have. */
export class SizeMismatchError extends OciError {
  constructor(
    readonly expected: number,
    readonly actual: number,
    detail = '',
  ) {
    super(
      'SIZE_MISMATCH',
      `size mismatch: expected ${expected} bytes, got ${actual}${detail ? ` ${detail}` : ''}`,
    );
  }
}

/** A JSON document (manifest, index, config, descriptor) that is malformed; `path` names the field. */
export class InvalidDocumentError extends OciError {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_DOCUMENT', `${path}: ${reason}`, options);
  }
}

/** A document larger than the accepted bound, refused before parsing. */
export class DocumentTooLargeError extends OciError {
  constructor(
    readonly what: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('DOCUMENT_TOO_LARGE', `${what} is ${size} bytes, over the limit of ${limit} bytes`);
  }
}

/** A media type this package does not know or does not support in that position. */
export class UnsupportedMediaTypeError extends OciError {
  constructor(
    readonly mediaType: string,
    reason: string,
  ) {
    super('UNSUPPORTED_MEDIA_TYPE', `unsupported media type ${JSON.stringify(mediaType)}: ${reason}`);
  }
}

/** An image reference that does not follow the distribution/reference grammar. */
export class InvalidReferenceError extends OciError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super('INVALID_REFERENCE', `invalid reference ${JSON.stringify(input)}: ${reason}`);
  }
}

/** A platform specifier such as "linux/arm64/v8" that cannot be parsed. */
export class InvalidPlatformError extends OciError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super('INVALID_PLATFORM', `invalid platform ${JSON.stringify(input)}: ${reason}`);
  }
}

/** An index that has no manifest for the wanted platform; `available` lists what it does have. */
export class NoMatchingPlatformError extends OciError {
  constructor(
    readonly wanted: string,
    readonly available: string[],
  ) {
    super(
      'NO_MATCHING_PLATFORM',
      `no manifest matches platform ${wanted}; available: ${available.length > 0 ? available.join(', ') : '(none)'}`,
    );
  }
}

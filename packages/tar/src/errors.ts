/** Where in the stream a tar problem was found, and in which entry. */
export interface TarErrorContext {
  /** Stream offset (uncompressed bytes) of the header or data that was wrong. */
  offset?: number;
  /** Name of the entry concerned, when it is known. */
  entry?: string;
  cause?: unknown;
}

/** Base of every error the reader raises about its input. */
export class TarError extends Error {
  readonly offset: number | undefined;
  readonly entry: string | undefined;

  constructor(message: string, ctx: TarErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.offset = ctx.offset;
    this.entry = ctx.entry;
  }
}

/** The bytes are not a valid tar archive (bad checksum, bad field, unsupported entry, unsafe name). */
export class TarFormatError extends TarError {}

/** The stream ended before the archive did. */
export class TarTruncatedError extends TarError {}

export type Compression = 'gzip' | 'zstd' | 'none';

/** Why a compression step failed: corrupt input, input not in the compression it was declared in, or no zstd program. */
export type CompressionFailure = 'corrupt' | 'mismatch' | 'unavailable' | 'failed';

export class CompressionError extends Error {
  constructor(
    message: string,
    readonly compression: Compression,
    readonly reason: CompressionFailure,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CompressionError';
  }
}

// Content digests ("<algorithm>:<lowercase hex>") as the OCI image spec
// defines them, restricted to the algorithms berth can verify.
import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** A validated digest string, e.g. "sha256:e3b0c442…". */
export type Digest = `${DigestAlgorithm}:${string}`;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** The lowercase hex part after the colon. */
  hex: string;
  /** The whole digest string. */
  digest: Digest;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** The spec's algorithm grammar; anything matching it but not listed above is "unsupported", not "malformed". */
const ALGORITHM_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;

function isSupportedAlgorithm(s: string): s is DigestAlgorithm {
  return (DIGEST_ALGORITHMS as readonly string[]).includes(s);
}

/** Parses and validates a digest; throws InvalidDigestError saying exactly what is wrong. */
export function parseDigest(input: string): ParsedDigest {
  if (typeof input !== 'string') {
    throw new InvalidDigestError(String(input), `expected a string, got ${typeof input}`);
  }
  const colon = input.indexOf(':');
  if (colon < 0) {
    throw new InvalidDigestError(input, 'missing "<algorithm>:" prefix');
  }
  const algorithm = input.slice(0, colon);
  const hex = input.slice(colon + 1);
  if (!isSupportedAlgorithm(algorithm)) {
    if (algorithm.toLowerCase() !== algorithm && isSupportedAlgorithm(algorithm.toLowerCase())) {
      throw new InvalidDigestError(input, `algorithm must be lowercase ("${algorithm.toLowerCase()}")`);
    }
    if (!ALGORITHM_GRAMMAR.test(algorithm)) {
      throw new InvalidDigestError(input, `malformed algorithm ${JSON.stringify(algorithm)}`);
    }
    throw new InvalidDigestError(
      input,
      `unsupported algorithm ${JSON.stringify(algorithm)} (supported: ${DIGEST_ALGORITHMS.join(', ')})`,
    );
  }
  const want = HEX_LENGTH[algorithm];
  if (/[A-F]/.test(hex) && /^[0-9a-fA-F]*$/.test(hex)) {
    throw new InvalidDigestError(input, `hex must be lowercase`);
  }
  if (!/^[0-9a-f]*$/.test(hex)) {
    throw new InvalidDigestError(input, `hex part contains characters other than 0-9a-f`);
  }
  if (hex.length !== want) {
    throw new InvalidDigestError(
      input,
      `${algorithm} hex must be ${want} characters, got ${hex.length}`,
    );
  }
  return { algorithm, hex, digest: input as Digest };
}

/** Validates `input` and returns it typed as a Digest. */
export function toDigest(input: string): Digest {
  return parseDigest(input).digest;
}

/** True when `input` is a valid, supported digest. */
export function isDigest(input: unknown): input is Digest {
  if (typeof input !== 'string') return false;
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

/** The digest of a complete byte buffer. */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  assertAlgorithm(algorithm);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function assertAlgorithm(algorithm: string): asserts algorithm is DigestAlgorithm {
  if (!isSupportedAlgorithm(algorithm)) {
    throw new InvalidDigestError(
      `${algorithm}:`,
      `unsupported algorithm ${JSON.stringify(algorithm)} (supported: ${DIGEST_ALGORITHMS.join(', ')})`,
    );
  }
}

/** Incremental digest: feed chunks with update(), then digest() once. Also counts bytes. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private bytes = 0;
  private result: Digest | undefined;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    assertAlgorithm(algorithm);
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array | string): this {
    if (this.result !== undefined) {
      throw new Error('Digester.update() called after digest()');
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.hash.update(buf);
    this.bytes += buf.byteLength;
    return this;
  }

  /** Number of bytes fed so far. */
  get size(): number {
    return this.bytes;
  }

  /** Finishes the hash; repeated calls return the same digest. */
  digest(): Digest {
    if (this.result === undefined) {
      this.result = `${this.algorithm}:${this.hash.digest('hex')}`;
    }
    return this.result;
  }
}

// Registry failures, classified once so the retry loop and the gRPC layer can
// act on them: `retryable` for transient ones, a status code for the caller.
import { ImagesError, type ImagesErrorCode } from '../errors.js';

export class RegistryError extends ImagesError {
  constructor(
    code: ImagesErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly details: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
  }
  get status(): number | undefined {
    return this.details.status;
  }
}

/** The URL without query or fragment (pre-signed redirect URLs carry secrets there) and without userinfo. */
export function redactUrl(url: URL | string): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(unparseable URL)';
  }
}

const TRANSIENT_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** Errors of a TLS handshake whose certificate could not be verified. */
const TLS_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A certificate the client does not trust, as a clear error naming the host
 * and what to configure; undefined for any other error. Not retryable: the
 * same certificate would be refused again.
 */
export function certificateError(what: string, host: string, err: unknown): RegistryError | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !TLS_CERTIFICATE_CODES.has(code)) return undefined;
  const msg = err instanceof Error ? err.message : String(err);
  return new RegistryError(
    'FAILED_PRECONDITION',
    `${what}: the TLS certificate of ${host} is not trusted: ${msg} (${code}); ` +
      `to trust the CA that signed it, set images.registries[${JSON.stringify(host)}].caFile in the images service configuration`,
    false,
    { cause: err },
  );
}

/** Wraps a socket-level error (reset, refused, premature close) as a retryable UNAVAILABLE. */
export function networkError(what: string, err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  const code = (err as { code?: unknown })?.code;
  const msg = err instanceof Error ? err.message : String(err);
  const transient = typeof code === 'string' ? TRANSIENT_NET_CODES.has(code) : /aborted|socket hang up|premature/i.test(msg);
  return new RegistryError(
    'UNAVAILABLE',
    `${what}: ${msg}${typeof code === 'string' && !msg.includes(code) ? ` (${code})` : ''}`,
    transient || /aborted|socket hang up|premature/i.test(msg),
    { cause: err },
  );
}

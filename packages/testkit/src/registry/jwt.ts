// Just enough JWT for Docker registry tokens: RS256 signing and the libtrust
// key id that docker/distribution 2.x uses to find the verifying key among
// its rootcertbundle.
import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(data: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * libtrust's key id: base32 of the first 240 bits of sha256 over the DER
 * SubjectPublicKeyInfo, as 12 groups of 4 characters joined by ':'.
 */
export function libtrustKeyId(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)?.join(':') ?? encoded;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A compact JWS (RS256) over the given header fields and claims. */
export function signJwtRs256(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  privateKey: KeyObject | string,
): string {
  const signingInput = `${base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', ...header }))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

/** The decoded (unverified) header and claims of a JWT, for tests. */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = token.split('.');
  if (h === undefined || c === undefined) throw new Error('not a JWT: expected header.claims.signature');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  createVerifyStream,
  Digester,
  DigestMismatchError,
  digestOf,
  InvalidDigestError,
  isDigest,
  parseDigest,
  SizeMismatchError,
  toDigest,
  verifyDigest,
} from '../src/index.js';

const SHA256_EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA256_ABC = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA512_ABC =
  'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

describe('parseDigest', () => {
  it('accepts sha256 and sha512 and splits them', () => {
    expect(parseDigest(SHA256_ABC)).toEqual({ algorithm: 'sha256', hex: SHA256_ABC.slice(7), digest: SHA256_ABC });
    expect(parseDigest(SHA512_ABC).algorithm).toBe('sha512');
    expect(toDigest(SHA256_EMPTY)).toBe(SHA256_EMPTY);
  });

  it.each([
    ['sha256:' + 'A'.repeat(64), /hex must be lowercase/],
    ['SHA256:' + 'a'.repeat(64), /algorithm must be lowercase/],
    ['sha256:' + 'a'.repeat(63), /sha256 hex must be 64 characters, got 63/],
    ['sha256:' + 'a'.repeat(65), /sha256 hex must be 64 characters, got 65/],
    ['sha512:' + 'a'.repeat(64), /sha512 hex must be 128 characters, got 64/],
    ['sha256:', /sha256 hex must be 64 characters, got 0/],
    ['md5:' + 'a'.repeat(32), /unsupported algorithm "md5" \(supported: sha256, sha512\)/],
    ['blake3:' + 'a'.repeat(64), /unsupported algorithm "blake3"/],
    ['sha256:' + 'g'.repeat(64), /characters other than 0-9a-f/],
    ['a'.repeat(64), /missing "<algorithm>:" prefix/],
    ['', /missing "<algorithm>:" prefix/],
    [':' + 'a'.repeat(64), /malformed algorithm ""/],
    ['sha 256:' + 'a'.repeat(64), /malformed algorithm/],
  ])('rejects %s', (input, message) => {
    expect(() => parseDigest(input)).toThrow(InvalidDigestError);
    expect(() => parseDigest(input)).toThrow(message);
    expect(isDigest(input)).toBe(false);
  });

  it('names the input in the error', () => {
    expect(() => parseDigest('sha256:xyz')).toThrow('invalid digest "sha256:xyz": ');
  });

  it('isDigest rejects non-strings', () => {
    expect(isDigest(42)).toBe(false);
    expect(isDigest(SHA256_ABC)).toBe(true);
  });
});

describe('digestOf / Digester / verifyDigest', () => {
  it('computes the standard vectors', () => {
    expect(digestOf(new Uint8Array())).toBe(SHA256_EMPTY);
    expect(digestOf('abc')).toBe(SHA256_ABC);
    expect(digestOf(Buffer.from('abc'), 'sha512')).toBe(SHA512_ABC);
  });

  it('Digester gives the same digest chunk by chunk and counts bytes', () => {
    const d = new Digester();
    d.update('a').update(Buffer.from('b')).update(new Uint8Array([0x63]));
    expect(d.size).toBe(3);
    expect(d.digest()).toBe(SHA256_ABC);
    expect(d.digest()).toBe(SHA256_ABC);
    expect(() => d.update('x')).toThrow(/after digest/);
    expect(new Digester('sha512').update('abc').digest()).toBe(SHA512_ABC);
  });

  it('refuses unsupported algorithms', () => {
    expect(() => new Digester('md5' as 'sha256')).toThrow(/unsupported algorithm "md5"/);
    expect(() => digestOf('x', 'sha1' as 'sha256')).toThrow(/unsupported algorithm "sha1"/);
  });

  it('verifyDigest passes matching content and uses the expected algorithm', () => {
    expect(verifyDigest('abc', SHA256_ABC)).toBe(SHA256_ABC);
    expect(verifyDigest('abc', SHA512_ABC)).toBe(SHA512_ABC);
  });

  it('verifyDigest reports both digests on mismatch', () => {
    let error: unknown;
    try {
      verifyDigest('abd', SHA256_ABC);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DigestMismatchError);
    const e = error as DigestMismatchError;
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.expected).toBe(SHA256_ABC);
    expect(e.actual).toBe(digestOf('abd'));
    expect(e.message).toBe(`digest mismatch: expected ${SHA256_ABC}, got ${digestOf('abd')}`);
  });

  it('verifyDigest rejects a malformed expectation', () => {
    expect(() => verifyDigest('abc', 'sha256:nope')).toThrow(InvalidDigestError);
  });
});

function collect(): { sink: Writable; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { sink, chunks };
}

describe('createVerifyStream', () => {
  const payload = Buffer.from('hello, layer bytes\n'.repeat(1000));
  const payloadDigest = digestOf(payload);
  const chunks = (buf: Buffer, size: number): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
    return out;
  };

  it('passes the bytes through unchanged when digest and size match', async () => {
    const { sink, chunks: got } = collect();
    const verify = createVerifyStream(payloadDigest, payload.length);
    await pipeline(Readable.from(chunks(payload, 777)), verify, sink);
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    expect(verify.bytesSeen).toBe(payload.length);
  });

  it('works without a size', async () => {
    const { sink } = collect();
    await pipeline(Readable.from(chunks(payload, 100)), createVerifyStream(payloadDigest), sink);
  });

  it('fails at the end on a digest mismatch', async () => {
    const corrupted = Buffer.from(payload);
    corrupted[5] = 0x58;
    const { sink } = collect();
    await expect(
      pipeline(Readable.from(chunks(corrupted, 500)), createVerifyStream(payloadDigest, payload.length), sink),
    ).rejects.toThrow(DigestMismatchError);
  });

  it('fails at the end when the stream is truncated', async () => {
    const { sink } = collect();
    const err = await pipeline(
      Readable.from(chunks(payload.subarray(0, 1000), 100)),
      createVerifyStream(payloadDigest, payload.length),
      sink,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect((err as SizeMismatchError).actual).toBe(1000);
    expect((err as Error).message).toMatch(`expected ${payload.length} bytes, got 1000 (stream ended early)`);
  });

  it('fails as soon as more bytes than expected arrive, before the end', async () => {
    const verify = createVerifyStream(digestOf('abc'), 3);
    const errored = new Promise<Error>((resolve) => verify.on('error', resolve));
    verify.resume();
    verify.write(Buffer.from('ab'));
    verify.write(Buffer.from('cd'));
    // No end() call: the error must come from the oversize chunk itself.
    const err = await errored;
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect(err.message).toContain('more bytes than expected');
    expect((err as SizeMismatchError).actual).toBe(4);
  });

  it('resumes from a digester that already saw a prefix', async () => {
    const prefix = payload.subarray(0, 4096);
    const resumeFrom = new Digester().update(prefix);
    const { sink, chunks: got } = collect();
    const verify = createVerifyStream(payloadDigest, payload.length, { resumeFrom });
    await pipeline(Readable.from(chunks(payload.subarray(4096), 1000)), verify, sink);
    expect(Buffer.concat(got).equals(payload.subarray(4096))).toBe(true);
    expect(verify.bytesSeen).toBe(payload.length);
  });

  it('rejects bad arguments synchronously', () => {
    expect(() => createVerifyStream('sha256:short')).toThrow(InvalidDigestError);
    expect(() => createVerifyStream(payloadDigest, -1)).toThrow(/non-negative integer/);
    expect(() => createVerifyStream(payloadDigest, 10, { resumeFrom: new Digester('sha512') })).toThrow(
      /sha512.*sha256/,
    );
    expect(() => createVerifyStream(payloadDigest, 2, { resumeFrom: new Digester().update('abc') })).toThrow(
      SizeMismatchError,
    );
  });
});

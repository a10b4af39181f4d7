import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CompressionError,
  buildTar,
  compressBuffer,
  compressionOfMediaType,
  decompress,
  decompressBuffer,
  detectCompression,
  openDecompressed,
  readTar,
} from '../src/index.js';
import { closableStream, requireBinaries, streamOf } from './helpers.js';

beforeAll(() => requireBinaries('zstd'));

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const tar = buildTar([{ entry: { name: 'f', type: 'file' }, body: 'layer content '.repeat(1000) }]);

describe('compression', () => {
  it('detects gzip, zstd and plain tar by magic bytes, and reads media types', () => {
    expect(detectCompression(gzipSync(tar))).toBe('gzip');
    expect(detectCompression(execFileSync('zstd', ['-q', '-c'], { input: tar }))).toBe('zstd');
    expect(detectCompression(tar)).toBe('none');
    expect(detectCompression(Buffer.from([0x1f]))).toBe('none');
    expect(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('gzip');
    expect(compressionOfMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(compressionOfMediaType('application/vnd.docker.image.rootfs.diff.tar')).toBe('none');
    expect(compressionOfMediaType('application/octet-stream')).toBeUndefined();
    expect(compressionOfMediaType(undefined)).toBeUndefined();
  });

  it('compresses reproducibly and decompresses what it and the zstd and gzip programs write', async () => {
    for (const c of ['gzip', 'zstd', 'none'] as const) {
      const once = await compressBuffer(tar, c);
      expect(await compressBuffer(tar, c)).toEqual(once);
      expect(detectCompression(once)).toBe(c);
      expect(await collect(decompress(streamOf(once, 100), c))).toEqual(tar);
      expect(await decompressBuffer(once, c)).toEqual(tar);
    }
    expect(await collect(decompress([execFileSync('zstd', ['-q', '-c', '-19'], { input: tar })], 'zstd'))).toEqual(tar);
    expect(await collect(decompress([execFileSync('gzip', ['-c'], { input: tar })], 'gzip'))).toEqual(tar);
  });

  it('openDecompressed sniffs, replays the head, counts compressed bytes and feeds the tar reader', async () => {
    const gz = gzipSync(tar);
    let compressed = 0;
    const { compression, stream } = await openDecompressed(streamOf(gz, 1), { onCompressed: (n) => (compressed += n) });
    expect(compression).toBe('gzip');
    const names: string[] = [];
    for await (const { header, body } of readTar(stream)) {
      names.push(header.name);
      expect((await collect(body)).length).toBe(14_000);
    }
    expect(names).toEqual(['f']);
    expect(compressed).toBe(gz.length);
    const plain = await openDecompressed([tar], { declared: 'none' });
    expect(plain.compression).toBe('none');
    expect(await collect(plain.stream)).toEqual(tar);
  });

  it('a stream that contradicts its declared compression is refused, and its source released', async () => {
    const source = closableStream(tar, 2);
    const err = await openDecompressed(source.stream, { declared: 'gzip' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompressionError);
    expect(err).toMatchObject({ reason: 'mismatch', compression: 'gzip' });
    expect((err as Error).message).toBe(`declared as gzip but the stream does not start with gzip magic bytes (got ${tar.subarray(0, 4).toString('hex')})`);
    expect(source.closed()).toBe(true);
    await expect(openDecompressed([], { declared: 'zstd' })).rejects.toThrow('declared as zstd but the stream does not start with zstd magic bytes (got an empty stream)');
  });

  it('corrupt and truncated streams fail as such', async () => {
    const gz = gzipSync(tar);
    const cut = collect(decompress([gz.subarray(0, gz.length >> 1)], 'gzip'));
    await expect(cut).rejects.toThrow(/^gzip stream is corrupt or truncated: unexpected end of file$/);
    await expect(cut).rejects.toMatchObject({ reason: 'corrupt', compression: 'gzip' });
    const flipped = Buffer.from(gz);
    for (let i = 20; i < 60; i++) flipped[i] = flipped[i]! ^ 0x5a;
    await expect(collect(decompress([flipped], 'gzip'))).rejects.toThrow(/gzip stream is corrupt or truncated/);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const bad = Buffer.from(zst);
    bad.fill(0xee, 8, 40);
    await expect(collect(decompress([bad], 'zstd'))).rejects.toThrow(/zstd stream is corrupt or truncated/);
  });
});

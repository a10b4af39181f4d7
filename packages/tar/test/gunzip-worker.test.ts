import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CompressionError, buildTar, decompress, openDecompressed, readTar } from '../src/index.js';
import { gunzipOffThread, liveGunzipWorkers } from '../src/gunzip-thread.js';
import { closableStream, requireBinaries, streamOf } from './helpers.js';

beforeAll(() => requireBinaries('gzip'));
// every stream, however it ended, has terminated its worker by the time it has settled
afterEach(() => expect(liveGunzipWorkers()).toBe(0));

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A tar of a few MiB, text and random data, so the output spans several of the worker's batches. */
const tar = buildTar([
  { entry: { name: 'etc/', type: 'dir' } },
  { entry: { name: 'etc/words', type: 'file' }, body: 'lorem ipsum dolor sit amet '.repeat(100_000) },
  { entry: { name: 'bin/blob', type: 'file' }, body: randomBytes(3 << 20) },
  { entry: { name: 'bin/sh', type: 'symlink', linkname: 'busybox' } },
]);
const gzipped = execFileSync('gzip', ['-c', '-6'], { input: tar, maxBuffer: 64 << 20 });

describe('gzip on a worker thread', () => {
  it('inflates what the gzip program wrote, whatever the chunking, and hashes the output beside it', async () => {
    for (const chunk of [1 << 20, 7919]) {
      let digest: string | undefined;
      const out = await collect(gunzipOffThread(streamOf(gzipped, chunk), { onSha256: (hex) => (digest = hex) }));
      expect(out.equals(tar)).toBe(true);
      expect(digest).toBe(sha256(tar));
    }
    // concatenated members read as one stream, as gzip -d does
    expect((await collect(decompress([gzipSync('one '), gzipSync('two')], 'gzip'))).toString()).toBe('one two');
  });

  it('feeds the tar reader through openDecompressed, which gives the sha256 of the whole uncompressed stream', async () => {
    const opened = await openDecompressed(streamOf(gzipped, 65_536), { declared: 'gzip', sha256: true });
    expect(() => opened.sha256()).toThrow('the stream has not been read to its end yet');
    const names: string[] = [];
    const sizes: number[] = [];
    for await (const { header, body } of readTar(opened.stream)) {
      names.push(header.name);
      sizes.push((await collect(body)).length);
    }
    expect(names).toEqual(['etc/', 'etc/words', 'bin/blob', 'bin/sh']);
    expect(sizes).toEqual([0, 2_700_000, 3 << 20, 0]);
    expect(opened.sha256()).toBe(sha256(tar));
  });

  it('corrupt and truncated input fail with a CompressionError, after the bytes that did inflate', async () => {
    const cut = gunzipOffThread(streamOf(gzipped.subarray(0, gzipped.length >> 1), 65_536));
    let got = 0;
    const err = await (async () => {
      for await (const c of cut) got += c.length;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompressionError);
    expect(err).toMatchObject({ compression: 'gzip', reason: 'corrupt', message: 'gzip stream is corrupt or truncated: unexpected end of file' });
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(tar.length);

    const flipped = Buffer.from(gzipped);
    for (let i = 1000; i < 1100; i++) flipped[i] = flipped[i]! ^ 0x5a;
    await expect(collect(gunzipOffThread(streamOf(flipped)))).rejects.toThrow(/^gzip stream is corrupt or truncated: /);
    await expect(collect(gunzipOffThread(streamOf(Buffer.from('not gzip at all'))))).rejects.toMatchObject({ reason: 'corrupt' });
  });

  it('a failing source fails the stream with its own error', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield gzipped.subarray(0, 100_000);
      throw new Error('connection reset by the registry');
    }
    await expect(collect(gunzipOffThread(failing()))).rejects.toThrow(/^connection reset by the registry$/);
  });

  it('a reader that stops early ends the worker and releases the source', async () => {
    const source = closableStream(gzipped, 65_536);
    for await (const chunk of gunzipOffThread(source.stream)) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(source.closed()).toBe(true);
  });

  it('reads the source only a bounded distance ahead of a reader that does not read', async () => {
    const data = randomBytes(32 << 20); // incompressible: compressed and inflated sizes alike
    const gz = gzipSync(data, { level: 1 });
    let pulled = 0;
    async function* counting(): AsyncGenerator<Buffer> {
      for (let i = 0; i < gz.length; i += 65_536) {
        const piece = gz.subarray(i, i + 65_536);
        pulled += piece.length;
        yield piece;
      }
    }
    const it = gunzipOffThread(counting());
    const first = await it.next();
    expect(first.done).toBe(false);
    // wait until the worker has filled what it may run ahead, then some
    let last = -1;
    for (let still = 0; still < 5; ) {
      await new Promise((r) => setTimeout(r, 100));
      still = pulled === last ? still + 1 : 0;
      last = pulled;
    }
    expect(pulled).toBeLessThan(20 << 20);
    const rest = await collect(it);
    expect(Buffer.concat([first.value as Buffer, rest]).equals(data)).toBe(true);
    expect(pulled).toBe(gz.length);
  });
});

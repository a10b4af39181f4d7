/**
 * Layer and archive compression: detection by magic bytes, streaming
 * decompression (gzip with node:zlib on a worker thread, see
 * gunzip-thread.ts; zstd with fzstd) and compressors
 * (gzip with node:zlib; zstd with the zstd program, as Node 20 has none and
 * fzstd only decompresses). Fixed levels and one zstd thread: the same
 * input always gives the same bytes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { CompressionError, type Compression } from './errors.js';
import { gunzipOffThread } from './gunzip-thread.js';

export { CompressionError, type Compression, type CompressionFailure } from './errors.js';

const gunzipAsync = promisify(gunzip);

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

const startsWith = (head: Uint8Array, magic: number[]) => head.length >= magic.length && magic.every((b, i) => head[i] === b);

/** 'gzip', 'zstd' or 'none', from the first bytes of a stream (4 are enough). */
export function detectCompression(head: Uint8Array): Compression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** The compression a layer media type declares (OCI and Docker schema2); undefined when it does not say. */
export function compressionOfMediaType(mediaType: string | undefined): Compression | undefined {
  if (!mediaType) return undefined;
  if (/(\+|\.)gzip$/.test(mediaType)) return 'gzip';
  if (/(\+|\.)zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType)) return 'none';
  return undefined;
}

const asBuffer = (c: Uint8Array): Buffer => (Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));

async function* unzstd(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  const d = new Decompress((data) => out.push(asBuffer(data)));
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      d.push(chunk, final);
    } catch (err) {
      throw new CompressionError(`zstd stream is corrupt or truncated: ${(err as Error).message}`, 'zstd', 'corrupt', err);
    }
  };
  for await (const chunk of input) {
    push(chunk, false);
    if (out.length > 0) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  push(new Uint8Array(0), true);
  yield* out;
}

async function* buffers(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const c of source) yield asBuffer(c);
}

async function* hashed(stream: AsyncGenerator<Buffer>, onSha256: (hex: string) => void): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of stream) {
    hash.update(chunk);
    yield chunk;
  }
  onSha256(hash.digest('hex'));
}

export interface DecompressOptions {
  /** Receives the sha256 (hex) of the decompressed bytes once the stream has ended (for gzip, computed on its worker thread). */
  onSha256?: (hex: string) => void;
}

/** The decompressed bytes of `source`; a corrupt or truncated stream fails with a CompressionError. */
export function decompress(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  compression: Compression,
  opts: DecompressOptions = {},
): AsyncGenerator<Buffer> {
  const input = buffers(source);
  if (compression === 'gzip') return gunzipOffThread(input, opts);
  const out = compression === 'zstd' ? unzstd(input) : input;
  return opts.onSha256 ? hashed(out, opts.onSha256) : out;
}

export interface Decompressed {
  /** What the magic bytes say. */
  compression: Compression;
  /** The uncompressed stream. */
  stream: AsyncGenerator<Buffer>;
  /** With OpenOptions.sha256: the sha256 (hex) of the uncompressed stream, once it has been read to its end. */
  sha256(): string;
}

export interface OpenOptions {
  /** The compression the stream must be in (e.g. from its media type); 'none' or undefined accepts any. */
  declared?: Compression | undefined;
  /** Sees the length of every compressed chunk read. */
  onCompressed?: (bytes: number) => void;
  /** Hash the uncompressed stream (a layer's diff_id) beside decompressing it, off this thread for gzip. */
  sha256?: boolean;
}

/**
 * Reads the first bytes of a stream to tell its compression, then streams it
 * decompressed (those bytes replayed). A stream declared as compressed that
 * does not carry the magic bytes fails with a CompressionError ('mismatch').
 * The source is ended when the returned stream is, or fails.
 */
export async function openDecompressed(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: OpenOptions = {}): Promise<Decompressed> {
  const it = buffers(source);
  const seen: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < ZSTD_MAGIC.length) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(seen).subarray(0, ZSTD_MAGIC.length);
  const compression = detectCompression(head);
  const { declared } = opts;
  if (declared && declared !== 'none' && compression !== declared) {
    if (!done) await it.return(undefined);
    throw new CompressionError(
      `declared as ${declared} but the stream does not start with ${declared} magic bytes (got ${head.toString('hex') || 'an empty stream'})`,
      declared,
      'mismatch',
    );
  }
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      for (const c of seen) {
        opts.onCompressed?.(c.length);
        yield c;
      }
      while (!done) {
        const r = await it.next();
        if (r.done) done = true;
        else {
          opts.onCompressed?.(r.value.length);
          yield r.value;
        }
      }
    } finally {
      // stopped early (an error downstream): release the source (file descriptor, socket)
      if (!done) await it.return(undefined);
    }
  }
  let digest: string | undefined;
  const stream = decompress(replay(), compression, opts.sha256 ? { onSha256: (hex) => (digest = hex) } : {});
  const sha256 = () => {
    if (digest === undefined) throw new Error(opts.sha256 ? 'the stream has not been read to its end yet' : 'openDecompressed was not asked to hash (sha256 option)');
    return digest;
  };
  return { compression, stream, sha256 };
}

/** A compression stage: pipe through `stream`; `done` settles when it has finished (rejects if zstd failed). */
export interface Compressor {
  stream: Duplex;
  done: Promise<void>;
  /** Stops a running zstd program (after a failure elsewhere in the pipeline). */
  kill(): void;
}

export interface CompressorOptions {
  /** gzip: zlib level (default 6); zstd: zstd level (default 3). */
  level?: number;
}

function zstdProgram(args: string[]): Compressor {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new CompressionError('zstd compression needs the zstd program, which is not installed (apt-get install zstd)', 'zstd', 'unavailable', err)
          : new CompressionError(`could not run zstd: ${err.message}`, 'zstd', 'failed', err),
      ),
    );
    child.on('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new CompressionError(`zstd ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}: ${stderr.trim()}`, 'zstd', 'failed')),
    );
  });
  done.catch(() => undefined); // observed by the caller; not unhandled in between
  return {
    stream: Duplex.from({ writable: child.stdin, readable: child.stdout }),
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export function compressor(compression: Compression, opts: CompressorOptions = {}): Compressor {
  switch (compression) {
    case 'none':
      return { stream: new PassThrough(), done: Promise.resolve(), kill: () => undefined };
    case 'gzip':
      return { stream: createGzip({ level: opts.level ?? 6 }), done: Promise.resolve(), kill: () => undefined };
    case 'zstd':
      return zstdProgram(['-q', '-c', `-${opts.level ?? 3}`, '-T1', '--no-progress']);
  }
}

/** A whole buffer compressed (test layers, small blobs). */
export async function compressBuffer(data: Buffer, compression: Compression, opts: CompressorOptions = {}): Promise<Buffer> {
  const { stream, done } = compressor(compression, opts);
  const out: Buffer[] = [];
  await Promise.all([
    pipelineAsync(Readable.from([data]), stream, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    }),
    done,
  ]);
  return Buffer.concat(out);
}

/** A whole buffer decompressed (gzip inline: a small buffer is not worth a thread). */
export async function decompressBuffer(data: Buffer, compression: Compression): Promise<Buffer> {
  if (compression === 'gzip') {
    try {
      return await gunzipAsync(data);
    } catch (err) {
      throw new CompressionError(`gzip stream is corrupt or truncated: ${(err as Error).message}`, 'gzip', 'corrupt', err);
    }
  }
  const out: Buffer[] = [];
  for await (const chunk of decompress([data], compression)) out.push(chunk);
  return Buffer.concat(out);
}

// Layer compressors as streams. gzip is Node's zlib at a fixed level; zstd is
// the `zstd` binary at a fixed level and one thread. Same input, same bytes.
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip, createGzip } from 'node:zlib';
import type { Compression } from './media-types.js';
import { requireBinary } from './process.js';

export interface Compressor {
  stream: Duplex;
  /** Settles when the compressor has finished (rejects if the zstd process failed). */
  done: Promise<void>;
}

function zstdProcess(args: string[]): Compressor {
  const zstd = requireBinary('zstd', 'apt-get install zstd');
  const child = spawn(zstd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`could not run ${zstd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${zstd} ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}: ${Buffer.concat(err).toString().trim()}`,
          ),
        );
    });
  });
  done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection in between
  return { stream: Duplex.from({ writable: child.stdin, readable: child.stdout }), done };
}

export function compressor(compression: Compression): Compressor {
  switch (compression) {
    case 'none':
      return { stream: new PassThrough(), done: Promise.resolve() };
    case 'gzip':
      return { stream: createGzip({ level: zlibConstants.Z_DEFAULT_COMPRESSION }), done: Promise.resolve() };
    case 'zstd':
      return zstdProcess(['-q', '-c', '-3', '-T1', '--no-progress']);
  }
}

export function decompressor(compression: Compression): Compressor {
  switch (compression) {
    case 'none':
      return { stream: new PassThrough(), done: Promise.resolve() };
    case 'gzip':
      return { stream: createGunzip(), done: Promise.resolve() };
    case 'zstd':
      return zstdProcess(['-q', '-d', '-c', '--no-progress']);
  }
}

async function transformBuffer(make: () => Compressor, data: Buffer): Promise<Buffer> {
  const { stream, done } = make();
  const out: Buffer[] = [];
  await Promise.all([
    pipeline(Readable.from([data]), stream, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    }),
    done,
  ]);
  return Buffer.concat(out);
}

export function compressBuffer(data: Buffer, compression: Compression): Promise<Buffer> {
  return transformBuffer(() => compressor(compression), data);
}

export function decompressBuffer(data: Buffer, compression: Compression): Promise<Buffer> {
  return transformBuffer(() => decompressor(compression), data);
}

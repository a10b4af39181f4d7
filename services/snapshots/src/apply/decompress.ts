import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { LayerError } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Compression a layer media type declares (OCI and Docker schema2), undefined when it does not say. */
export function compressionOfMediaType(mediaType: string | undefined): Compression | undefined {
  if (!mediaType) return undefined;
  if (/(\+|\.)gzip$/.test(mediaType)) return 'gzip';
  if (/(\+|\.)zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType) || mediaType.endsWith('.diff.tar')) return 'none';
  return undefined;
}

/** Compression from the stream's first bytes. */
export function sniffCompression(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** Reads enough of a stream to sniff it, then replays those chunks. */
async function peek(
  input: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Buffer; stream: AsyncIterable<Buffer>; release: () => Promise<unknown> }> {
  const it = input[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    seen.push(b);
    have += b.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield* seen;
      while (!done) {
        const r = await it.next();
        if (r.done) done = true;
        else yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      }
    } finally {
      // stopped early (an error downstream): release the source (file descriptor, socket)
      if (!done) await it.return?.();
    }
  }
  const release = async () => (done ? undefined : it.return?.());
  return { head: Buffer.concat(seen).subarray(0, n), stream: replay(), release };
}

async function* gunzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: 64 * 1024 });
  pipeline(Readable.from(input), z, () => {
    // errors surface through the iteration below
  });
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (err) {
    throw new LayerError(`gzip stream is corrupt or truncated: ${(err as Error).message}`, undefined, { cause: err, code: 'data_loss' });
  } finally {
    z.destroy();
  }
}

async function* unzstd(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  const d = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      d.push(chunk, final);
    } catch (err) {
      throw new LayerError(`zstd stream is corrupt or truncated: ${(err as Error).message}`, undefined, { cause: err, code: 'data_loss' });
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

export interface Decompressed {
  compression: Compression;
  /** The uncompressed tar stream. */
  stream: AsyncIterable<Buffer>;
}

/**
 * The uncompressed tar stream of a layer. The magic bytes decide; a media type
 * that promises compression the bytes do not have is an error (corrupt blob).
 */
export async function decompress(
  input: AsyncIterable<Uint8Array>,
  mediaType: string | undefined,
  countCompressed: (n: number) => void,
): Promise<Decompressed> {
  const { head, stream, release } = await peek(input, 4);
  const sniffed = sniffCompression(head);
  const declared = compressionOfMediaType(mediaType);
  if (declared && declared !== 'none' && sniffed !== declared) {
    await release();
    throw new LayerError(`layer declared as ${declared} (${mediaType}) does not start with ${declared} magic bytes (got ${head.toString('hex') || 'an empty stream'})`, undefined, {
      code: 'data_loss',
    });
  }
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const c of stream) {
      countCompressed(c.length);
      yield c;
    }
  }
  const source = counted();
  if (sniffed === 'gzip') return { compression: 'gzip', stream: gunzip(source) };
  if (sniffed === 'zstd') return { compression: 'zstd', stream: unzstd(source) };
  return { compression: 'none', stream: source };
}

// Layer compression by content (magic bytes), and streaming decompression:
// gzip with node:zlib, zstd with fzstd. docker-archive wants plain tars whose
// sha256 is the config's diff_id, so export and import both need this.
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Decompress } from 'fzstd';
import type { LayerCompression } from '@berth/oci';

export function detectCompression(head: Buffer): LayerCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** The decompressed bytes of `source`. */
export async function* decompress(source: AsyncIterable<Buffer>, compression: LayerCompression): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    yield* source;
    return;
  }
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    const input = Readable.from(source);
    input.on('error', (err) => gunzip.destroy(err));
    input.pipe(gunzip);
    yield* gunzip as AsyncIterable<Buffer>;
    return;
  }
  const out: Buffer[] = [];
  const z = new Decompress((chunk) => {
    out.push(Buffer.from(chunk));
  });
  for await (const chunk of source) {
    z.push(chunk);
    while (out.length > 0) yield out.shift()!;
  }
  z.push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}

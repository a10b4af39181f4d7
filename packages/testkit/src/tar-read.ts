// Reading layers back for assertions: decompressed by magic bytes, every
// entry of the tar with its content, in archive order.
import { openDecompressed, readTar, type TarHeader } from '@berth/tar';

export interface ReadTarEntry extends TarHeader {
  content: Buffer;
}

/** Every entry of a (possibly gzip- or zstd-compressed) tar, in archive order, with contents. */
export async function readLayerEntries(blob: Buffer): Promise<ReadTarEntry[]> {
  const { stream } = await openDecompressed([blob]);
  const entries: ReadTarEntry[] = [];
  for await (const { header, body } of readTar(stream)) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c));
    entries.push({ ...header, content: Buffer.concat(chunks) });
  }
  return entries;
}

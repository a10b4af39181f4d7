// Reading layers back (for assertions): decompress by magic bytes and list
// the entries with tar-stream, an independent tar implementation.
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { decompressBuffer } from './compression.js';
import type { Compression } from './media-types.js';

export interface ReadTarEntry {
  name: string;
  type: Header['type'];
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | undefined;
  devmajor: number;
  devminor: number;
  pax: Record<string, string>;
  content: Buffer;
}

/** 'gzip', 'zstd' or 'none', from the first bytes of a blob. */
export function detectCompression(data: Buffer): Compression {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return 'gzip';
  if (data.length >= 4 && data.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Every entry of a (possibly compressed) tar, in archive order, with contents. */
export async function readLayerEntries(blob: Buffer): Promise<ReadTarEntry[]> {
  const tar = await decompressBuffer(blob, detectCompression(blob));
  // allowUnknownFormat is a runtime option the bundled types do not list
  const ex = extract({ allowUnknownFormat: true } as Parameters<typeof extract>[0]);
  const entries: ReadTarEntry[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header as Header & { pax?: Record<string, string> | null };
      entries.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
        linkname: h.linkname ?? undefined,
        devmajor: h.devmajor ?? 0,
        devminor: h.devminor ?? 0,
        pax: h.pax ?? {},
        content: Buffer.concat(chunks),
      });
    }
  })();
  Readable.from([tar]).pipe(ex);
  await done;
  return entries;
}

// OCI image layout on disk: blobs/sha256/<hex>, oci-layout, index.json.
// Blobs are written to a temp name and renamed, so a reader never sees half a
// blob; index.json is replaced by rename too.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressor } from '@berth/tar';
import { digestHex, sha256Digest } from './digest.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION, type Compression } from './media-types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digestHex(digest));
}

export async function initLayout(layoutDir: string): Promise<void> {
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  const marker = join(layoutDir, 'oci-layout');
  if (!existsSync(marker)) await writeFile(marker, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

function tempBlobPath(layoutDir: string): string {
  return join(layoutDir, 'blobs', 'sha256', `.tmp-${randomBytes(8).toString('hex')}`);
}

/** Stores bytes as a blob (no-op if present); returns its digest and size. */
export async function writeBlob(layoutDir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(data);
  const path = blobPath(layoutDir, digest);
  if (!existsSync(path)) {
    const tmp = tempBlobPath(layoutDir);
    await writeFile(tmp, data);
    await rename(tmp, path);
  }
  return { digest, size: data.length };
}

/** Canonical JSON of a document: what its digest is computed over. */
export function jsonBytes(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

export interface LayerBlob {
  /** Digest of the stored (compressed) blob. */
  digest: string;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** Size of the stored blob in bytes. */
  size: number;
}

/** Compresses a tar stream into a blob, hashing both sides on the way. */
export async function writeLayerBlob(
  layoutDir: string,
  tar: AsyncIterable<Buffer> | Iterable<Buffer>,
  compression: Compression,
): Promise<LayerBlob> {
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const tmp = tempBlobPath(layoutDir);
  const { stream, done } = compressor(compression);
  const hashed = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of tar) {
      diffHash.update(chunk);
      yield chunk;
    }
  };
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      blobHash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await Promise.all([pipeline(Readable.from(hashed()), stream, counter, createWriteStream(tmp)), done]);
    const digest = `sha256:${blobHash.digest('hex')}`;
    await rename(tmp, blobPath(layoutDir, digest));
    return { digest, diffId: `sha256:${diffHash.digest('hex')}`, size };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function readLayoutIndex(layoutDir: string): Promise<LayoutIndex> {
  const path = join(layoutDir, 'index.json');
  if (!existsSync(path)) return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] };
  return JSON.parse(await readFile(path, 'utf8')) as LayoutIndex;
}

/** Points `refName` at the descriptor in index.json, replacing an earlier entry of that name. */
export async function setRef(layoutDir: string, descriptor: Descriptor, refName: string): Promise<void> {
  const index = await readLayoutIndex(layoutDir);
  const manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== refName);
  manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME_ANNOTATION]: refName } });
  const next: LayoutIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests };
  const tmp = join(layoutDir, `.index.json.tmp-${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, JSON.stringify(next, null, 2));
  await rename(tmp, join(layoutDir, 'index.json'));
}

/** The descriptor `refName` names in the layout's index.json, or the only one when refName is omitted. */
export async function resolveRef(layoutDir: string, refName?: string): Promise<Descriptor & { refName: string }> {
  const { manifests } = await readLayoutIndex(layoutDir);
  const named = manifests.map((d) => ({ ...d, refName: d.annotations?.[REF_NAME_ANNOTATION] ?? '' }));
  if (refName === undefined) {
    const only = named[0];
    if (named.length !== 1 || !only) {
      throw new Error(
        `image layout ${layoutDir} holds ${named.length} manifests (${named.map((d) => d.refName || d.digest).join(', ')}); name one`,
      );
    }
    return only;
  }
  const found = named.find((d) => d.refName === refName);
  if (!found) {
    throw new Error(
      `image layout ${layoutDir} has no ref named ${JSON.stringify(refName)} (has: ${named.map((d) => d.refName).join(', ') || 'none'})`,
    );
  }
  return found;
}

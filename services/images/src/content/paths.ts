// On-disk layout of the content store:
//   <root>/blobs/<algorithm>/<hex>          committed, verified blobs (read-only files)
//   <root>/ingest/<sha256(ref)>/data        bytes received so far
//   <root>/ingest/<sha256(ref)>/ref         the ingest's ref, for listing
//   <root>/ingest/<sha256(ref)>/total       expected size, when known
//   <root>/ingest/<sha256(ref)>/expected    expected digest, when known
//   <root>/ingest/<sha256(ref)>/startedat   start time (ms since epoch)
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDigest, type Digest } from '@berth/oci';

export interface ContentPaths {
  root: string;
  blobsDir: string;
  ingestDir: string;
  tmpDir: string;
}

export function contentPaths(root: string): ContentPaths {
  return { root, blobsDir: join(root, 'blobs'), ingestDir: join(root, 'ingest'), tmpDir: join(root, 'tmp') };
}

export function blobPath(p: ContentPaths, digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(p.blobsDir, algorithm, hex);
}

export function ingestPath(p: ContentPaths, ref: string): string {
  return join(p.ingestDir, createHash('sha256').update(ref).digest('hex'));
}

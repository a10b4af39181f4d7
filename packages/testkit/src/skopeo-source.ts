// skopeo (containers/image) only reads OCI media types from an OCI image
// layout. For images built with Docker media types we hand it the same
// blobs as a `dir:` transport directory instead, which takes any manifest
// type and keeps every byte (so digests are preserved on push).
import { copyFile, link, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex } from './digest.js';
import { blobPath, resolveRef, type Descriptor } from './layout.js';
import { MEDIA_TYPES } from './media-types.js';
import { skopeo } from './skopeo.js';

const DOCKER_TYPES = new Set<string>([MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList]);

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

async function writeDirTransport(layoutDir: string, top: Descriptor, dir: string): Promise<void> {
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  const copyImage = async (manifestDigest: string, manifestName: string): Promise<void> => {
    const manifestBytes = await readFile(blobPath(layoutDir, manifestDigest));
    await writeFile(join(dir, manifestName), manifestBytes);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [manifest.config, ...manifest.layers]) {
      await linkOrCopy(blobPath(layoutDir, d.digest), join(dir, digestHex(d.digest))).catch(async (err: unknown) => {
        // the same blob listed twice is already there
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      });
    }
  };
  if (isIndexMediaType(top.mediaType)) {
    const listBytes = await readFile(blobPath(layoutDir, top.digest));
    await writeFile(join(dir, 'manifest.json'), listBytes);
    const list = JSON.parse(listBytes.toString('utf8')) as { manifests: Descriptor[] };
    for (const m of list.manifests) await copyImage(m.digest, `${digestHex(m.digest)}.manifest.json`);
  } else {
    await copyImage(top.digest, 'manifest.json');
  }
}

/**
 * Calls fn with a skopeo source for an image of the layout: `oci:<dir>:<ref>`
 * for OCI media types, a temporary `dir:` copy for Docker ones (removed
 * afterwards). refName defaults to the layout's only image.
 */
export async function withSkopeoSource<T>(
  layoutDir: string,
  refName: string | undefined,
  fn: (source: string, descriptor: Descriptor & { refName: string }) => Promise<T>,
): Promise<T> {
  const descriptor = await resolveRef(layoutDir, refName);
  if (!DOCKER_TYPES.has(descriptor.mediaType)) {
    return fn(descriptor.refName ? `oci:${layoutDir}:${descriptor.refName}` : `oci:${layoutDir}`, descriptor);
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-skopeo-dir-'));
  try {
    await writeDirTransport(layoutDir, descriptor, dir);
    return await fn(`dir:${dir}`, descriptor);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `skopeo inspect [--raw]` of an image in a layout (parsed JSON). */
export async function skopeoInspect(
  layoutDir: string,
  opts: { refName?: string; raw?: boolean } = {},
): Promise<Record<string, unknown>> {
  return withSkopeoSource(layoutDir, opts.refName, async (source) => {
    const { stdout } = await skopeo(['inspect', ...(opts.raw ? ['--raw'] : []), source]);
    return JSON.parse(stdout.toString('utf8')) as Record<string, unknown>;
  });
}

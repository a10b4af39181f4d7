// Small images built in memory for fake-registry tests: gzip layers that are
// real tars, a config with matching diff_ids, and a manifest (OCI or Docker).
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { MediaType } from '@berth/oci';
import { TarWriter } from '@berth/tar';
import { sha256 } from './helpers.js';

export interface Blob {
  mediaType: string;
  digest: `sha256:${string}`;
  size: number;
  bytes: Buffer;
}

export interface TestImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  /** All blobs by digest (config and layers). */
  blobs: Map<string, Buffer>;
}

export async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const tar = new TarWriter(out);
  for (const [name, content] of Object.entries(files)) {
    const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
    await tar.addFile(name, buf.length, buf, { mode: 0o644 });
  }
  await tar.finish();
  out.end();
  return Buffer.concat(chunks);
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

export async function buildTestImage(
  opts: { layers?: Record<string, string | Buffer>[]; docker?: boolean; arch?: string; layerMediaType?: string; seed?: string } = {},
): Promise<TestImage> {
  const docker = opts.docker ?? false;
  const layerFiles = opts.layers ?? [{ 'hello.txt': `hello ${opts.seed ?? ''}\n` }, { 'data.bin': randomBytes(300_000) }];
  const tars = await Promise.all(layerFiles.map((f) => tarOf(f)));
  const layers = tars.map((t) =>
    blob(opts.layerMediaType ?? (docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip), gzipSync(t)),
  );
  const configJson = {
    architecture: opts.arch ?? 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'], Env: [`SEED=${opts.seed ?? ''}`] },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) },
  };
  const config = blob(docker ? MediaType.DockerConfig : MediaType.OciConfig, Buffer.from(JSON.stringify(configJson)));
  const manifestJson = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = blob(manifestJson.mediaType, Buffer.from(JSON.stringify(manifestJson)));
  const blobs = new Map<string, Buffer>();
  blobs.set(config.digest, config.bytes);
  for (const l of layers) blobs.set(l.digest, l.bytes);
  return { manifest, config, layers, blobs };
}

export function buildIndex(entries: { image: TestImage; platform: { os: string; architecture: string; variant?: string } }[]): Blob {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: entries.map((e) => ({
      mediaType: e.image.manifest.mediaType,
      digest: e.image.manifest.digest,
      size: e.image.manifest.size,
      platform: e.platform,
    })),
  };
  return blob(MediaType.OciIndex, Buffer.from(JSON.stringify(index)));
}

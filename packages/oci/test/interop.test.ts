// Real documents from real tools: an OCI image built with umoci (two layers,
// the second deleting a file), converted by skopeo to Docker schema 2 and to
// zstd-compressed OCI. Everything here must parse, verify and agree.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chainIds,
  createVerifyStream,
  digestOf,
  layerCompression,
  MediaType,
  parseDigest,
  parseImageConfig,
  parseIndex,
  parseManifestOrIndex,
  selectManifest,
  verifyDigest,
  type Descriptor,
  type Manifest,
} from '../src/index.js';

function requireBinary(name: string): void {
  try {
    execFileSync('which', [name], { stdio: 'pipe' });
  } catch {
    throw new Error(`required binary "${name}" is not installed (apt-get install ${name})`);
  }
}

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: 'pipe' });
}

let root: string;

beforeAll(async () => {
  for (const bin of ['umoci', 'skopeo', 'zstd', 'sha256sum']) requireBinary(bin);
  root = await mkdtemp(join(tmpdir(), 'berth-oci-interop-'));
  run('umoci', ['init', '--layout', 'oci'], root);
  run('umoci', ['new', '--image', 'oci:t'], root);
  run('umoci', ['unpack', '--rootless', '--image', 'oci:t', 'b1'], root);
  await mkdir(join(root, 'b1/rootfs/etc'), { recursive: true });
  await writeFile(join(root, 'b1/rootfs/etc/first'), 'one\n');
  await writeFile(join(root, 'b1/rootfs/etc/gone'), 'deleted by layer 2\n');
  run('umoci', ['repack', '--image', 'oci:t', 'b1'], root);
  run('umoci', ['config', '--image', 'oci:t', '--config.entrypoint', '/bin/sh', '--config.env', 'A=1'], root);
  run('umoci', ['unpack', '--rootless', '--image', 'oci:t', 'b2'], root);
  await writeFile(join(root, 'b2/rootfs/etc/second'), 'two\n');
  await rm(join(root, 'b2/rootfs/etc/gone'));
  run('umoci', ['repack', '--image', 'oci:t', 'b2'], root);
  run('skopeo', ['--insecure-policy', 'copy', '--format', 'v2s2', 'oci:oci:t', 'dir:docker'], root);
  run(
    'skopeo',
    ['--insecure-policy', 'copy', '--dest-compress', '--dest-compress-format', 'zstd', 'oci:oci:t', 'oci:zstd:t'],
    root,
  );
}, 120_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const blobPath = (layout: string, d: string) => {
  const { algorithm, hex } = parseDigest(d);
  return join(root, layout, 'blobs', algorithm, hex);
};

async function readVerified(layout: string, d: Descriptor): Promise<Buffer> {
  const bytes = await readFile(blobPath(layout, d.digest));
  expect(bytes.length).toBe(d.size);
  verifyDigest(bytes, d.digest);
  return bytes;
}

async function ociImage(layout: string): Promise<{ manifest: Manifest; manifestBytes: Buffer }> {
  const index = parseIndex(await readFile(join(root, layout, 'index.json')));
  // umoci and skopeo write the entry without a platform: the fallback picks it.
  const desc = selectManifest(index, 'linux/amd64');
  expect(desc.annotations?.['org.opencontainers.image.ref.name']).toBe('t');
  const manifestBytes = await readVerified(layout, desc);
  const parsed = parseManifestOrIndex(manifestBytes);
  if (parsed.kind !== 'manifest') throw new Error(`expected a manifest, got ${parsed.kind}`);
  return { manifest: parsed.manifest, manifestBytes };
}

describe('umoci OCI image', () => {
  it('parses, verifies, and its diff_ids and chain ids agree with the layers', async () => {
    const { manifest } = await ociImage('oci');
    expect(manifest.config.mediaType).toBe(MediaType.OciConfig);
    expect(manifest.layers).toHaveLength(2);
    const config = parseImageConfig(await readVerified('oci', manifest.config));
    expect(config.config?.Entrypoint).toEqual(['/bin/sh']);
    expect(config.config?.Env).toContain('A=1');
    expect(config.rootfs.diff_ids).toHaveLength(2);
    for (const [i, layer] of manifest.layers.entries()) {
      expect(layerCompression(layer.mediaType)).toBe('gzip');
      const blob = await readVerified('oci', layer);
      expect(digestOf(gunzipSync(blob))).toBe(config.rootfs.diff_ids[i]);
      // The streaming verifier agrees with the whole-buffer one.
      await pipeline(
        createReadStream(blobPath('oci', layer.digest), { highWaterMark: 64 }),
        createVerifyStream(layer.digest, layer.size),
        new Writable({ write: (_c, _e, cb) => cb() }),
      );
    }
    const [d0, d1] = config.rootfs.diff_ids as [string, string];
    const expected1 = `sha256:${execFileSync('sha256sum', { input: `${d0} ${d1}` }).toString().split(' ')[0]}`;
    expect(chainIds(config.rootfs.diff_ids)).toEqual([d0, expected1]);
  });
});

describe('skopeo Docker schema 2 copy', () => {
  it('parses with Docker media types and keeps the same diff_ids', async () => {
    const { manifest: oci } = await ociImage('oci');
    const ociConfig = parseImageConfig(await readVerified('oci', oci.config));
    const manifestBytes = await readFile(join(root, 'docker/manifest.json'));
    const parsed = parseManifestOrIndex(manifestBytes, 'application/json');
    if (parsed.kind !== 'manifest') throw new Error(`expected a manifest, got ${parsed.kind}`);
    expect(parsed.mediaType).toBe(MediaType.DockerManifest);
    const m = parsed.manifest;
    expect(m.config.mediaType).toBe(MediaType.DockerConfig);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.DockerLayerGzip, MediaType.DockerLayerGzip]);
    const configBytes = await readFile(join(root, 'docker', parseDigest(m.config.digest).hex));
    verifyDigest(configBytes, m.config.digest);
    const config = parseImageConfig(configBytes);
    expect(config.rootfs.diff_ids).toEqual(ociConfig.rootfs.diff_ids);
    expect(config.config?.Entrypoint).toEqual(['/bin/sh']);
  });
});

describe('skopeo zstd OCI copy', () => {
  it('has tar+zstd layers whose decompressed digests are the diff_ids', async () => {
    const { manifest } = await ociImage('zstd');
    const config = parseImageConfig(await readVerified('zstd', manifest.config));
    for (const [i, layer] of manifest.layers.entries()) {
      expect(layer.mediaType).toBe(MediaType.OciLayerZstd);
      expect(layerCompression(layer.mediaType)).toBe('zstd');
      await readVerified('zstd', layer);
      const tar = execFileSync('zstd', ['-d', '-c', blobPath('zstd', layer.digest)], { maxBuffer: 64 << 20 });
      expect(digestOf(tar)).toBe(config.rootfs.diff_ids[i]);
    }
  });
});

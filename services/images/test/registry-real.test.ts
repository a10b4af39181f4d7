// The registry client and pull/push against the real local registry (Debian's
// docker-registry) from the test kit, in all three auth modes, with images
// pushed by skopeo in OCI and Docker schema 2 formats.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageConfig, parseManifest } from '@berth/oci';
import { busyboxImage, layeredImage, pushImage, skopeo, startRegistry, type BuiltImage, type TestRegistry } from '../../../packages/testkit/src/index.js';
import { pull } from '../src/pull.js';
import { push } from '../src/push.js';
import { dockerConfigCredentials, readDockerConfig, setCredentials, writeDockerConfig } from '../src/registry/docker-config.js';
import { openTestCore, sha256, tempDir, type TestCore, rejection } from './helpers.js';
import type { PullProgress } from '../src/progress.js';

let busybox: BuiltImage;
let layered: BuiltImage;

beforeAll(async () => {
  busybox = await busyboxImage();
  layered = await layeredImage();
});

async function rawManifest(reg: TestRegistry, ref: string): Promise<Buffer> {
  const creds = reg.auth ? ['--creds', `${reg.auth.username}:${reg.auth.password}`] : ['--no-creds'];
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', ...creds, `docker://${reg.host}/${ref}`]);
  return stdout;
}

describe.each(['none', 'basic', 'token'] as const)('real registry, auth %s', (mode) => {
  let reg: TestRegistry;
  let core: TestCore;
  let ociDigest: string;
  let v2s2Digest: string;
  let layeredDigest: string;
  let configDir: string | undefined;

  beforeAll(async () => {
    reg = await startRegistry({ auth: mode });
    ociDigest = await pushImage(busybox.layoutDir, 'library/busybox:oci', { registry: reg });
    v2s2Digest = await pushImage(busybox.layoutDir, 'library/busybox:v2s2', { registry: reg, format: 'v2s2' });
    layeredDigest = await pushImage(layered.layoutDir, 'library/layered:v2s2', { registry: reg, format: 'v2s2' });
    // Credentials the way `berth login` stores them: a docker-style config.json.
    configDir = tempDir('berth-docker-config-');
    const configPath = join(configDir, 'config.json');
    if (reg.auth) writeDockerConfig(configPath, setCredentials(readDockerConfig(configPath), reg.host, reg.auth));
    core = openTestCore({ credentials: dockerConfigCredentials(configPath) });
  });
  afterAll(async () => {
    core?.close();
    await reg?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('pulls the OCI-format image by tag, storing verified manifest, config and layers', async () => {
    const progress: PullProgress[] = [];
    const result = await pull(core, `${reg.host}/library/busybox:oci`, { namespace: 'default', onProgress: (p) => progress.push(p) });
    expect(ociDigest).toBe(busybox.manifestDigest);
    expect(result.target.digest).toBe(ociDigest);
    expect(result.image.name).toBe(`${reg.host}/library/busybox:oci`);
    expect(core.images.get('default', result.image.name).target.digest).toBe(ociDigest);
    const manifest = parseManifest(await core.content.readBytes(result.manifest.digest));
    expect(manifest.config.digest).toBe(busybox.configDigest);
    for (const l of manifest.layers) expect(core.content.info(l.digest).size).toBe(l.size);
    const config = parseImageConfig(await core.content.readBytes(manifest.config.digest));
    expect(config.config?.Cmd).toEqual(['sh']);
    const last = progress.at(-1)!;
    expect(last.phase).toBe('done');
    expect(last.layers.map((l) => l.state)).toEqual(manifest.layers.map(() => 'done'));
    expect(last.current).toBe(last.total);
    expect(core.leases.list()).toEqual([]);
  });

  it('pulls the Docker schema 2 image by tag and by digest', async () => {
    const byTag = await pull(core, `${reg.host}/library/busybox:v2s2`, { namespace: 'default' });
    expect(byTag.target.digest).toBe(v2s2Digest);
    expect(byTag.target.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const progress: PullProgress[] = [];
    const byDigest = await pull(core, `${reg.host}/library/busybox@${v2s2Digest}`, {
      namespace: 'default',
      onProgress: (p) => progress.push(p),
    });
    expect(byDigest.target.digest).toBe(v2s2Digest);
    expect(byDigest.image.name).toBe(`${reg.host}/library/busybox@${v2s2Digest}`);
    expect(progress.at(-1)!.layers.every((l) => l.state === 'exists')).toBe(true);
  });

  it('pulls a multi-layer image with 2 layers at a time', async () => {
    const result = await pull(core, `${reg.host}/library/layered:v2s2`, { namespace: 'other', concurrency: 2 });
    expect(result.target.digest).toBe(layeredDigest);
    expect(result.layers.length).toBe(layered.layers.length);
    for (const l of result.layers) expect(core.content.has(l.digest)).toBe(true);
  });

  it('pushes back to other repositories byte-identically (mounted from the source repository, and chunked)', async () => {
    const mounted = await push(core, `${reg.host}/library/busybox:oci`, `${reg.host}/copy/busybox:pushed`, { namespace: 'default' });
    expect(mounted.target.digest).toBe(ociDigest);
    expect(mounted.blobs.map((b) => b.result).sort()).toEqual(mounted.blobs.map(() => 'mounted'));
    const raw = await rawManifest(reg, 'copy/busybox:pushed');
    expect(sha256(raw)).toBe(ociDigest);
    expect(raw.equals(await core.content.readBytes(ociDigest as `sha256:${string}`))).toBe(true);

    // No source label for this repository: an upload, in 64 KiB PATCH chunks.
    core.images.tag('default', `${reg.host}/library/busybox:v2s2`, 'local/busybox:v2s2');
    for (const info of core.content.list()) {
      const labels = Object.fromEntries(Object.keys(info.labels).map((k) => [k, '']));
      core.content.updateLabels(info.digest, labels);
    }
    const uploaded = await push(core, 'local/busybox:v2s2', `${reg.host}/chunked/busybox:v1`, { namespace: 'default', chunkSize: 64 * 1024 });
    expect(uploaded.blobs.map((b) => b.result)).toEqual(uploaded.blobs.map(() => 'uploaded'));
    expect(sha256(await rawManifest(reg, 'chunked/busybox:v1'))).toBe(v2s2Digest);

    // Everything already there: nothing to send but the manifest.
    const again = await push(core, 'local/busybox:v2s2', `${reg.host}/chunked/busybox:v2`, { namespace: 'default' });
    expect(again.blobs.map((b) => b.result)).toEqual(again.blobs.map(() => 'exists'));
    expect(sha256(await rawManifest(reg, 'chunked/busybox:v2'))).toBe(v2s2Digest);
  });

  if (mode === 'token') {
    it('caches bearer tokens instead of asking for one per request', async () => {
      const issued = reg.token!.issuedCount();
      await pull(core, `${reg.host}/library/busybox:oci`, { namespace: 'tokens' });
      await pull(core, `${reg.host}/library/busybox:v2s2`, { namespace: 'tokens' });
      expect(reg.token!.issuedCount()).toBe(issued); // same scope as before: served from the cache
    });
  }

  if (mode !== 'none') {
    it('is refused without credentials, and with wrong ones, saying which', async () => {
      const anon = openTestCore();
      try {
        const err = await rejection(pull(anon, `${reg.host}/library/busybox:oci`, { namespace: 'default' }));
        expect(err.message).toMatch(/requires authentication and no credentials are configured|refused anonymous access/);
      } finally {
        anon.close();
      }
      const wrong = openTestCore({ credentials: () => ({ username: reg.auth!.username, password: 'not-the-password' }) });
      try {
        const err = await rejection(pull(wrong, `${reg.host}/library/busybox:oci`, { namespace: 'default' }));
        expect(err.message).toMatch(/refused the configured credentials/);
        expect(err.message).not.toContain('not-the-password');
        expect(wrong.images.list('default')).toEqual([]);
      } finally {
        wrong.close();
      }
    });
  }
});

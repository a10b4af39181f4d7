import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianImage, debianRootfs } from '../src/images/debian.js';
import { MEDIA_TYPES } from '../src/media-types.js';
import { requireBinary } from '../src/process.js';
import { skopeoInspect } from '../src/skopeo-source.js';
import { tempDirs } from './helpers.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

describe('debianImage', () => {
  it(
    'debootstraps bookworm minbase once (concurrent callers wait), caches it, and yields a valid single-layer image',
    async () => {
      // two callers at once: one builds, the other waits on the lock and reuses the result
      const [a, b] = await Promise.all([debianImage(), debianImage()]);
      expect(b.manifestDigest).toBe(a.manifestDigest);
      expect(a.layers).toHaveLength(1);
      expect(a.layers[0]?.mediaType).toBe(MEDIA_TYPES.ociLayerGzip);
      expect(a.config.config.Cmd).toEqual(['bash']);
      expect(a.layoutDir.startsWith(process.env.BERTH_TEST_CACHE || '/var/cache/berth-test')).toBe(true);

      // cached: the same files come back, untouched
      const rootfs = await debianRootfs();
      const before = statSync(rootfs.tarFile);
      const c = await debianImage();
      expect(c.manifestDigest).toBe(a.manifestDigest);
      const after = statSync((await debianRootfs()).tarFile);
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
      expect(rootfs.diffId).toBe(a.layers[0]?.diffId);

      const info = await skopeoInspect(a.layoutDir);
      expect(info.Digest).toBe(a.manifestDigest);

      const bundle = join(await tmp.make('debian-bundle'), 'b');
      execFileSync(requireBinary('umoci'), ['unpack', '--image', `${a.layoutDir}:${a.refName}`, bundle], { stdio: 'pipe' });
      const root = join(bundle, 'rootfs');
      expect(readFileSync(join(root, 'etc/os-release'), 'utf8')).toMatch(/VERSION_CODENAME=bookworm/);
      expect(statSync(join(root, 'usr/bin/bash')).mode & 0o111).not.toBe(0);
      expect(readlinkSync(join(root, 'bin'))).toBe('usr/bin');
      expect(lstatSync(join(root, 'usr/bin/apt-get')).isFile()).toBe(true);
      expect(readdirSync(join(root, 'dev'))).toEqual([]);
      expect(existsSync(join(root, 'etc/hostname'))).toBe(false);
      expect(existsSync(join(root, 'etc/resolv.conf'))).toBe(false);
      expect(readdirSync(join(root, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb'))).toEqual([]);
    },
    20 * 60_000,
  );

  it(
    'reuses the cached root filesystem for other media types and compressions',
    async () => {
      const oci = await debianImage();
      const docker = await debianImage({ mediaTypes: 'docker' });
      expect(docker.manifestMediaType).toBe(MEDIA_TYPES.dockerManifest);
      expect(docker.layers[0]?.diffId).toBe(oci.layers[0]?.diffId);
      expect((await skopeoInspect(docker.layoutDir)).Digest).toBe(docker.manifestDigest);
    },
    20 * 60_000,
  );
});

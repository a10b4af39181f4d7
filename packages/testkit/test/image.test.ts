import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../src/digest.js';
import { buildImage, buildIndex, type ImageSpec } from '../src/image.js';
import { BUSYBOX_BINARY, BUSYBOX_CONFIG, busyboxApplets, busyboxImage, busyboxLayerEntries } from '../src/images/busybox.js';
import { LAYERED_EXPECTED, layeredImage } from '../src/images/layered.js';
import { blobPath, readLayoutIndex } from '../src/layout.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION, type Compression, type MediaTypeFamily } from '../src/media-types.js';
import { hostPlatform } from '../src/platform.js';
import { requireBinary } from '../src/process.js';
import { skopeoInspect } from '../src/skopeo-source.js';
import { readLayerEntries } from '../src/tar-read.js';
import { tempDirs } from './helpers.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

const umoci = requireBinary('umoci', 'apt-get install umoci');

function inspect(layoutDir: string, refName: string): Promise<Record<string, unknown>> {
  return skopeoInspect(layoutDir, { refName });
}

async function unpack(layoutDir: string, ref: string): Promise<string> {
  const bundle = join(await tmp.make('bundle'), 'b');
  execFileSync(umoci, ['unpack', '--image', `${layoutDir}:${ref}`, bundle], { stdio: 'pipe' });
  return join(bundle, 'rootfs');
}

function smallSpec(mediaTypes: MediaTypeFamily, compression: Compression): ImageSpec {
  return {
    mediaTypes,
    compression,
    refName: `${mediaTypes}-${compression}`,
    layers: [
      [
        { type: 'dir', path: '/etc' },
        { type: 'file', path: '/etc/motd', content: 'hi\n' },
      ],
      [{ type: 'whiteout', path: '/etc/motd' }],
    ],
    config: {
      entrypoint: ['/bin/sh', '-c'],
      cmd: ['echo hi'],
      env: { PATH: '/bin', LANG: 'C.UTF-8' },
      workingDir: '/etc',
      user: '1000:1000',
      exposedPorts: ['80', '53/udp'],
      labels: { 'org.example.kind': 'test' },
      stopSignal: 'SIGQUIT',
    },
  };
}

describe('buildImage', () => {
  const variants: [MediaTypeFamily, Compression][] = [
    ['oci', 'gzip'],
    ['oci', 'none'],
    ['oci', 'zstd'],
    ['docker', 'gzip'],
    ['docker', 'none'],
  ];

  it.each(variants)('%s media types with %s layers: valid layout, same digests on every build', async (family, compression) => {
    const spec = smallSpec(family, compression);
    const a = await buildImage(spec, await tmp.make('img-a'));
    const b = await buildImage(spec, await tmp.make('img-b'));
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.layers).toEqual(a.layers);

    // what index.json and the blobs say agrees with what buildImage returned
    const index = await readLayoutIndex(a.layoutDir);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({
      digest: a.manifestDigest,
      mediaType: family === 'oci' ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest,
      annotations: { [REF_NAME_ANNOTATION]: spec.refName },
      platform: hostPlatform(),
    });
    const manifestBytes = readFileSync(blobPath(a.layoutDir, a.manifestDigest));
    expect(sha256Digest(manifestBytes)).toBe(a.manifestDigest);
    expect(JSON.parse(manifestBytes.toString())).toEqual(a.manifest);
    for (const layer of a.layers) {
      const blob = readFileSync(blobPath(a.layoutDir, layer.digest));
      expect(blob.length).toBe(layer.size);
      expect(sha256Digest(blob)).toBe(layer.digest);
    }
    const config = JSON.parse(readFileSync(blobPath(a.layoutDir, a.configDigest), 'utf8')) as typeof a.config;
    expect(config.rootfs.diff_ids).toEqual(a.layers.map((l) => l.diffId));
    expect(config.config).toEqual({
      User: '1000:1000',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Env: ['PATH=/bin', 'LANG=C.UTF-8'],
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo hi'],
      WorkingDir: '/etc',
      Labels: { 'org.example.kind': 'test' },
      StopSignal: 'SIGQUIT',
    });
    const second = await readLayerEntries(readFileSync(blobPath(a.layoutDir, a.layers[1]?.digest ?? '')));
    expect(second.map((e) => e.name)).toEqual(['etc/.wh.motd']);

    // skopeo (containers/image) reads the layout
    const info = await inspect(a.layoutDir, spec.refName ?? '');
    expect(info.Digest).toBe(a.manifestDigest);
    expect(info.Layers).toEqual(a.layers.map((l) => l.digest));
    expect(info.Architecture).toBe(hostPlatform().architecture);
  });

  it('refuses zstd with Docker media types', async () => {
    await expect(buildImage(smallSpec('docker', 'zstd'), await tmp.make('img-bad'))).rejects.toThrow(/zstd/);
  });

  it('keeps other images in an existing layout and replaces a ref of the same name', async () => {
    const dir = await tmp.make('img-multi');
    const one = await buildImage({ ...smallSpec('oci', 'gzip'), refName: 'one' }, dir);
    await buildImage({ ...smallSpec('oci', 'none'), refName: 'two' }, dir);
    const twoAgain = await buildImage({ ...smallSpec('oci', 'zstd'), refName: 'two' }, dir);
    const index = await readLayoutIndex(dir);
    expect(index.manifests.map((d) => [d.annotations?.[REF_NAME_ANNOTATION], d.digest])).toEqual([
      ['one', one.manifestDigest],
      ['two', twoAgain.manifestDigest],
    ]);
  });

  it('builds a multi-platform index skopeo reads', async () => {
    const dir = await tmp.make('img-index');
    const layers: ImageSpec['layers'] = [[{ type: 'file', path: '/arch', content: 'x' }]];
    const built = await buildIndex(
      [
        { layers, platform: 'linux/amd64' },
        { layers, platform: 'linux/arm64/v8' },
        { layers, platform: { os: 'linux', architecture: 's390x' } },
      ],
      dir,
      { refName: 'multi' },
    );
    expect(built.index.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 's390x' },
    ]);
    const raw = (await skopeoInspect(dir, { refName: 'multi', raw: true })) as { mediaType?: string; manifests?: unknown[] };
    expect(raw.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(raw.manifests).toHaveLength(3);
    const again = await buildIndex(
      [
        { layers, platform: 'linux/amd64' },
        { layers, platform: 'linux/arm64/v8' },
        { layers, platform: { os: 'linux', architecture: 's390x' } },
      ],
      await tmp.make('img-index-2'),
      { refName: 'multi' },
    );
    expect(again.indexDigest).toBe(built.indexDigest);
  });
});

describe('busyboxImage', () => {
  it('is a valid layout with busybox, applet links, users, and stable digests', async () => {
    const img = await busyboxImage();
    const again = await busyboxImage();
    expect(again.manifestDigest).toBe(img.manifestDigest);
    // the cache holds exactly what a fresh build produces
    const fresh = await buildImage({ layers: [busyboxLayerEntries()], config: BUSYBOX_CONFIG }, await tmp.make('busybox-fresh'));
    expect(fresh.manifestDigest).toBe(img.manifestDigest);
    expect(img.config.config.Cmd).toEqual(['sh']);
    expect(img.layers).toHaveLength(1);

    const info = await inspect(img.layoutDir, 'latest');
    expect(info.Digest).toBe(img.manifestDigest);

    const ls = execFileSync(umoci, ['ls', '--layout', img.layoutDir], { encoding: 'utf8' });
    expect(ls.split('\n')).toContain('latest');

    const rootfs = await unpack(img.layoutDir, 'latest');
    const busybox = join(rootfs, 'bin/busybox');
    expect(readFileSync(busybox).equals(readFileSync(BUSYBOX_BINARY))).toBe(true);
    expect(statSync(busybox).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(rootfs, 'bin/sh'))).toBe('busybox');
    const applets = busyboxApplets();
    expect(applets.length).toBeGreaterThan(100);
    for (const applet of applets) expect(readlinkSync(join(rootfs, 'bin', applet))).toBe('busybox');
    const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toMatch(/^root:x:0:0:/m);
    expect(passwd).toMatch(/^app:x:1000:1000:/m);
    expect(passwd).toMatch(/^nobody:x:65534:65534:/m);
    expect(readFileSync(join(rootfs, 'etc/group'), 'utf8')).toMatch(/^app:x:1000:/m);
    expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(rootfs, 'root')).isDirectory()).toBe(true);
    expect(statSync(join(rootfs, 'home/app')).uid).toBe(1000);
    expect(existsSync(join(rootfs, 'etc/hostname'))).toBe(false);
  });

  it('comes in Docker media types and every compression', async () => {
    const docker = await busyboxImage({ mediaTypes: 'docker' });
    expect(docker.manifestMediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(docker.layers[0]?.mediaType).toBe(MEDIA_TYPES.dockerLayerGzip);
    const zstd = await busyboxImage({ compression: 'zstd' });
    expect(zstd.layers[0]?.mediaType).toBe(MEDIA_TYPES.ociLayerZstd);
    const plain = await busyboxImage({ compression: 'none' });
    expect(plain.layers[0]?.mediaType).toBe(MEDIA_TYPES.ociLayer);
    // same content, so the same uncompressed layer
    expect(new Set([docker, zstd, plain].map((i) => i.layers[0]?.diffId)).size).toBe(1);
    expect((await inspect(docker.layoutDir, 'latest')).Digest).toBe(docker.manifestDigest);
  });
});

function listTree(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    out.push(path);
    if (lstatSync(join(root, path)).isDirectory()) out.push(...listTree(root, path));
  }
  return out;
}

describe('layeredImage', () => {
  it('unpacks with umoci to exactly LAYERED_EXPECTED: whiteouts, opaque dir, links', async () => {
    const img = await layeredImage();
    expect(img.layers.length).toBeGreaterThanOrEqual(3);
    const rootfs = await unpack(img.layoutDir, 'latest');
    expect(listTree(rootfs).filter((p) => p === 'data' || p.startsWith('data/'))).toEqual([...LAYERED_EXPECTED.tree]);
    for (const [path, want] of Object.entries(LAYERED_EXPECTED.files)) {
      const st = statSync(join(rootfs, path));
      expect(readFileSync(join(rootfs, path), 'utf8'), path).toBe(want.content);
      expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, path).toEqual({ mode: want.mode, uid: want.uid, gid: want.gid });
    }
    for (const [path, want] of Object.entries(LAYERED_EXPECTED.dirs)) {
      const st = statSync(join(rootfs, path));
      expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, path).toEqual(want);
    }
    for (const [a, b] of LAYERED_EXPECTED.hardlinks) {
      expect(statSync(join(rootfs, a)).ino).toBe(statSync(join(rootfs, b)).ino);
    }
    for (const [path, target] of Object.entries(LAYERED_EXPECTED.symlinks)) {
      expect(readlinkSync(join(rootfs, path))).toBe(target);
    }
    for (const path of LAYERED_EXPECTED.fifos) expect(lstatSync(join(rootfs, path)).isFIFO()).toBe(true);
    for (const path of LAYERED_EXPECTED.absent) expect(existsSync(join(rootfs, path)), path).toBe(false);
    expect(listTree(rootfs).some((p) => relative('', p).split('/').pop()?.startsWith('.wh.'))).toBe(false);
  });

  it('can sit on the busybox layer', async () => {
    const img = await layeredImage({ base: 'busybox' });
    expect(img.layers).toHaveLength(4);
    const rootfs = await unpack(img.layoutDir, 'latest');
    expect(existsSync(join(rootfs, 'bin/busybox'))).toBe(true);
    expect(readFileSync(join(rootfs, 'data/hello.txt'), 'utf8')).toBe('hello from layer 2\n');
  });
});

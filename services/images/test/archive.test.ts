// Export and import of image archives, checked with the real tools: skopeo
// reads what berth exports; berth imports what skopeo and umoci write.
import { createReadStream, createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseImageConfig, parseManifest } from '@berth/oci';
import { busyboxImage, layeredImage, pushImage, requireBinary, skopeo, startRegistry, type BuiltImage, type TestRegistry } from '../../../packages/testkit/src/index.js';
import { exportImages, type ArchiveFormat } from '../src/archive/export.js';
import { importArchive } from '../src/archive/import.js';
import { TarWriter, readTar } from '@berth/tar';
import { pull } from '../src/pull.js';
import { statusCodeOf } from '../src/errors.js';
import { blobFiles, openTestCore, sha256, tempDir, type TestCore, rejection } from './helpers.js';
import { tarOf } from './fixtures.js';

let reg: TestRegistry;
let busybox: BuiltImage;
let layered: BuiltImage;
let work: string;
let v2s2Digest: string;

beforeAll(async () => {
  requireBinary('umoci', 'apt-get install umoci');
  busybox = await busyboxImage();
  layered = await layeredImage({ compression: 'zstd' }); // zstd layers: export must decompress them for docker-archive
  reg = await startRegistry({ auth: 'none' });
  await pushImage(busybox.layoutDir, 'library/busybox:oci', { registry: reg });
  v2s2Digest = await pushImage(busybox.layoutDir, 'library/busybox:v2s2', { registry: reg, format: 'v2s2' });
  await pushImage(layered.layoutDir, 'library/layered:1', { registry: reg });
  work = tempDir('berth-archive-test-');
});
afterAll(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

let core: TestCore;
beforeEach(() => {
  core = openTestCore();
});
afterEach(() => core.close());

async function exportTo(file: string, names: string[], format: ArchiveFormat): Promise<void> {
  const out = createWriteStream(file);
  await exportImages(core, names, out, { namespace: 'default', format });
  out.end();
  await finished(out);
}

async function pullAll(): Promise<{ bb: string; bb2: string; lay: string }> {
  const bb = (await pull(core, `${reg.host}/library/busybox:oci`, { namespace: 'default' })).image.name;
  const bb2 = (await pull(core, `${reg.host}/library/busybox:v2s2`, { namespace: 'default' })).image.name;
  const lay = (await pull(core, `${reg.host}/library/layered:1`, { namespace: 'default' })).image.name;
  return { bb, bb2, lay };
}

function inspectDigest(stdout: Buffer): string {
  return (JSON.parse(stdout.toString()) as { Digest: string }).Digest;
}

function expectNothingLeft(): void {
  expect(core.images.list('default')).toEqual([]);
  expect(blobFiles(core)).toEqual([]);
  expect(readdirSync(core.content.paths.ingestDir)).toEqual([]);
  expect(core.leases.list()).toEqual([]);
}

describe('export', () => {
  it('writes an OCI layout archive of several images that skopeo reads, blob by blob', async () => {
    const { bb, bb2, lay } = await pullAll();
    const file = join(work, 'export-oci.tar');
    await exportTo(file, [bb, bb2, lay], 'oci');

    const names = [] as string[];
    for await (const e of readTar(createReadStream(file))) names.push(e.header.name);
    expect(names[0]).toBe('oci-layout');
    expect(names.at(-1)).toBe('index.json');
    const index = JSON.parse(execFileSync('tar', ['-xOf', file, 'index.json']).toString()) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests.map((m) => m.annotations['io.containerd.image.name'])).toEqual([bb, bb2, lay]);
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['oci', 'v2s2', '1']);

    expect(inspectDigest((await skopeo(['inspect', `oci-archive:${file}:oci`])).stdout)).toBe(busybox.manifestDigest);
    // The Docker schema 2 image is kept byte-identical (as ctr export does); skopeo's oci transport only
    // looks up OCI-typed entries by name, so that one is checked through berth's own import below.
    expect(index.manifests[1]!.digest).toBe(v2s2Digest);
    // A full copy reads and verifies every blob.
    const copied = join(work, 'copied-layout');
    await skopeo(['copy', '--preserve-digests', `oci-archive:${file}:1`, `oci:${copied}:x`]);
    const copiedIndex = JSON.parse(readFileSync(join(copied, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(copiedIndex.manifests[0]!.digest).toBe(layered.manifestDigest);

    // One image: skopeo needs no reference.
    const single = join(work, 'single-oci.tar');
    await exportTo(single, [bb], 'oci');
    expect(inspectDigest((await skopeo(['inspect', `oci-archive:${single}`])).stdout)).toBe(busybox.manifestDigest);
  });

  it('writes a docker-archive (docker save format) with plain layer tars matching the diff_ids, that skopeo reads', async () => {
    const { bb, lay } = await pullAll();
    const file = join(work, 'export-docker.tar');
    await exportTo(file, [bb, lay], 'docker');

    const manifestJson = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json']).toString()) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(manifestJson.map((m) => m.RepoTags)).toEqual([[bb], [lay]]);
    const dir = join(work, 'docker-extracted');
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xf', file, '-C', dir]);
    for (const entry of manifestJson) {
      const config = parseImageConfig(readFileSync(join(dir, entry.Config)));
      expect(sha256(readFileSync(join(dir, entry.Config)))).toBe(`sha256:${entry.Config.replace('.json', '')}`);
      expect(entry.Layers.map((l) => sha256(readFileSync(join(dir, l))))).toEqual(config.rootfs.diff_ids);
    }

    for (const [i, expected] of [busybox, layered].entries()) {
      const out = await skopeo(['inspect', '--config', `docker-archive:${file}:@${i}`]);
      expect((JSON.parse(out.stdout.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids).toEqual(expected.config.rootfs.diff_ids);
      const copied = join(work, `from-docker-${i}`);
      await skopeo(['copy', `docker-archive:${file}:@${i}`, `oci:${copied}:x`]);
      const idx = JSON.parse(readFileSync(join(copied, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const manifest = parseManifest(readFileSync(join(copied, 'blobs', 'sha256', idx.manifests[0]!.digest.slice(7))));
      expect(manifest.config.digest).toBe(expected.configDigest);
    }
    const named = await skopeo(['inspect', `docker-archive:${file}:${bb}`]);
    expect((JSON.parse(named.stdout.toString()) as { Layers: string[] }).Layers.length).toBe(busybox.layers.length);
  });

  it('round-trips through berth: export then import into a fresh store gives the same images', async () => {
    const { bb, lay } = await pullAll();
    const ociFile = join(work, 'roundtrip-oci.tar');
    const dockerFile = join(work, 'roundtrip-docker.tar');
    await exportTo(ociFile, [bb, lay], 'oci');
    await exportTo(dockerFile, [bb, lay], 'docker');

    const fresh = openTestCore();
    try {
      const oci = await importArchive(fresh, createReadStream(ociFile), { namespace: 'default' });
      expect(oci.format).toBe('oci');
      expect(oci.images.map((i) => [i.name, i.target.digest])).toEqual([
        [bb, busybox.manifestDigest],
        [lay, layered.manifestDigest],
      ]);
      expect(oci.images[0]!.target.annotations).toBeUndefined();
      const docker = await importArchive(fresh, createReadStream(dockerFile), { namespace: 'docker' });
      expect(docker.format).toBe('docker');
      expect(docker.images.map((i) => i.name)).toEqual([bb, lay]);
      for (const [i, img] of docker.images.entries()) {
        const m = parseManifest(await fresh.content.readBytes(img.target.digest));
        expect(m.config.digest).toBe([busybox, layered][i]!.configDigest);
        expect(m.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar')).toBe(true);
      }
      expect(fresh.leases.list()).toEqual([]);
    } finally {
      fresh.close();
    }
  });
});

describe('import', () => {
  it('imports what skopeo writes as oci-archive and docker-archive', async () => {
    const ociFile = join(work, 'skopeo-oci.tar');
    await skopeo(['copy', `oci:${busybox.layoutDir}:${busybox.refName}`, `oci-archive:${ociFile}:example.com/tools/busybox:1.0`]);
    const oci = await importArchive(core, createReadStream(ociFile), { namespace: 'default' });
    expect(oci.images.map((i) => [i.name, i.target.digest])).toEqual([['example.com/tools/busybox:1.0', busybox.manifestDigest]]);

    const dockerFile = join(work, 'skopeo-docker.tar');
    await skopeo(['copy', `oci:${busybox.layoutDir}:${busybox.refName}`, `docker-archive:${dockerFile}:example.com/tools/busybox:2`]);
    const docker = await importArchive(core, createReadStream(dockerFile), { namespace: 'default' });
    expect(docker.images.map((i) => i.name)).toEqual(['example.com/tools/busybox:2']);
    const manifest = parseManifest(await core.content.readBytes(docker.images[0]!.target.digest));
    expect(manifest.config.digest).toBe(busybox.configDigest);
    expect(manifest.layers.length).toBe(busybox.layers.length);
  });

  it('imports a layout umoci built (init, new, unpack, repack), tarred, and gzip-compressed', async () => {
    const layout = join(work, 'umoci-layout');
    rmSync(layout, { recursive: true, force: true });
    const bundle = join(work, 'umoci-bundle');
    rmSync(bundle, { recursive: true, force: true });
    execFileSync('umoci', ['init', '--layout', layout]);
    execFileSync('umoci', ['new', '--image', `${layout}:v1`]);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, bundle]);
    mkdirSync(join(bundle, 'rootfs', 'etc'), { recursive: true });
    execFileSync('sh', ['-c', `echo umoci > ${join(bundle, 'rootfs', 'etc', 'made-by')}`]);
    execFileSync('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
    execFileSync('umoci', ['config', '--image', `${layout}:v1`, '--config.cmd', '/bin/sh']);
    const file = join(work, 'umoci.tar');
    execFileSync('tar', ['-C', layout, '-cf', file, '.']);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };

    // umoci names the image by tag only: without a base name that is an error saying so.
    const err = await rejection(importArchive(core, createReadStream(file), { namespace: 'default' }));
    expect(err.message).toContain('is named only by the tag "v1"; give a base name');
    expectNothingLeft();

    const result = await importArchive(core, createReadStream(file), { namespace: 'default', baseName: 'example.com/umoci/img' });
    expect(result.images.map((i) => [i.name, i.target.digest])).toEqual([['example.com/umoci/img:v1', index.manifests[0]!.digest]]);

    const gz = join(work, 'umoci.tar.gz');
    execFileSync('sh', ['-c', `gzip -c ${file} > ${gz}`]);
    const again = await importArchive(core, createReadStream(gz), { namespace: 'gz', baseName: 'example.com/umoci/img' });
    expect(again.images[0]!.target.digest).toBe(index.manifests[0]!.digest);
  });

  it('verifies docker-archive layers against the diff_ids, gzip-compressed ones too', async () => {
    const layerTar = await tarOf({ 'file.txt': 'docker archive layer\n' });
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] } }));
    const configName = `${sha256(config).slice(7)}.json`;
    const build = async (layer: Buffer) =>
      tarOf({
        [configName]: config,
        'layer/layer.tar': layer,
        'manifest.json': JSON.stringify([{ Config: configName, RepoTags: ['example.com/da:1'], Layers: ['layer/layer.tar'] }]),
      });
    const gz = await importArchive(core, [await build(gzipSync(layerTar))], { namespace: 'default' });
    const m = parseManifest(await core.content.readBytes(gz.images[0]!.target.digest));
    expect(m.layers[0]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');

    const wrongLayer = await tarOf({ 'file.txt': 'something else\n' });
    core.images.delete('default', 'example.com/da:1');
    core.close();
    core = openTestCore();
    const err = await rejection(importArchive(core, [await build(wrongLayer)], { namespace: 'default' }));
    expect(err.message).toMatch(/Layers\[0\] \(layer\/layer\.tar\): layer tar hashes to sha256:[0-9a-f]+, the config's diff_id is sha256:/);
    expect(statusCodeOf(err)).toBe('DATA_LOSS');
    expectNothingLeft();
  });
});

describe('import rejects bad archives, leaving nothing behind', () => {
  async function archiveFromBusybox(mutate: (name: string, data: Buffer) => { name: string; data: Buffer; link?: string } | null, extra: { name: string; data?: Buffer; link?: string }[] = []) {
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    const tar = new TarWriter(out);
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: busybox.layoutDir }).toString().trim().split('\n');
    for (const f of files.map((x) => x.slice(2)).sort()) {
      const m = mutate(f, readFileSync(join(busybox.layoutDir, f)));
      if (m) await tar.addFile(m.name, m.data.length, m.data);
    }
    for (const e of extra) {
      if (e.link !== undefined) await tar.addSymlink(e.name, e.link);
      else await tar.addFile(e.name, e.data!.length, e.data!);
    }
    await tar.finish();
    out.end();
    return Buffer.concat(chunks);
  }

  async function failedImport(archive: Buffer, pattern: RegExp): Promise<Error> {
    const err = await importArchive(core, [archive], { namespace: 'default', baseName: 'example.com/x' }).then(
      () => {
        throw new Error('import succeeded but should have failed');
      },
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(pattern);
    expectNothingLeft();
    return err;
  }

  it('accepts the untouched layout (control)', async () => {
    const ok = await importArchive(core, [await archiveFromBusybox((name, data) => ({ name, data }))], { namespace: 'default', baseName: 'example.com/x' });
    expect(ok.images[0]!.target.digest).toBe(busybox.manifestDigest);
  });

  it('a blob whose bytes do not match its name', async () => {
    const layer = busybox.layers[0]!.digest.slice(7);
    const archive = await archiveFromBusybox((name, data) => {
      if (!name.endsWith(layer)) return { name, data };
      const bad = Buffer.from(data);
      bad[500] = bad[500]! ^ 1;
      return { name, data: bad };
    });
    const err = await failedImport(archive, new RegExp(`archive entry blobs/sha256/${layer}: digest mismatch: expected sha256:${layer}, got sha256:`));
    expect(statusCodeOf(err)).toBe('DATA_LOSS');
  });

  it('a blob the manifest needs is missing', async () => {
    const layer = busybox.layers[0]!.digest.slice(7);
    await failedImport(await archiveFromBusybox((name, data) => (name.endsWith(layer) ? null : { name, data })), new RegExp(`blob sha256:${layer} is not in the archive`));
  });

  it.each([
    ['../evil', /archive entry "\.\.\/evil" escapes the archive root/],
    ['blobs/../../evil', /escapes the archive root/],
    ['/etc/evil', /archive entry "\/etc\/evil" is an absolute path/],
  ])('an entry escaping the root: %s', async (name, pattern) => {
    await failedImport(await archiveFromBusybox((n, data) => ({ name: n, data }), [{ name, data: Buffer.from('x') }]), pattern);
  });

  it.each([
    ['blobs/escape', '../../etc/passwd', /points outside the archive/],
    ['blobs/abs', '/etc/passwd', /points to the absolute path "\/etc\/passwd"/],
  ])('a symlink escaping the root: %s -> %s', async (name, link, pattern) => {
    await failedImport(await archiveFromBusybox((n, data) => ({ name: n, data }), [{ name, link }]), pattern);
  });

  it('invalid index.json, unknown layout version, neither format, not a tar at all', async () => {
    await failedImport(await archiveFromBusybox((name, data) => (name === 'index.json' ? { name, data: Buffer.from('{"schemaVersion":2,') } : { name, data })), /archive index\.json: index: invalid JSON/);
    await failedImport(
      await archiveFromBusybox((name, data) => (name === 'oci-layout' ? { name, data: Buffer.from('{"imageLayoutVersion":"9.0.0"}') } : { name, data })),
      /unsupported imageLayoutVersion "9\.0\.0"/,
    );
    await failedImport(await tarOf({ 'hello.txt': 'hi' }), /neither an OCI image layout .* nor a docker-archive/);
    await failedImport(Buffer.alloc(2048, 0x41), /corrupt tar archive: bad header checksum at offset 0/);
  });
});

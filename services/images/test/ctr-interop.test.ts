// containerd's `ctr images import` accepts berth's exports: OCI layout and
// docker-archive, one image and several, imported (and unpacked, which checks
// every layer against its diff_id) into a private containerd of this suite.
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, chainIds, parseManifest, type Digest } from '@berth/oci';
import { busyboxImage, layeredImage, pushImage, startRegistry, type BuiltImage, type TestRegistry } from '@berth/testkit';
import { exportImages, type ArchiveFormat } from '../src/archive/export.js';
import { importArchive } from '../src/archive/import.js';
import { pull } from '../src/pull.js';
import { openTestCore, sha256, tempDir, type TestCore } from './helpers.js';
import { parseImageList, startPrivateContainerd, type PrivateContainerd } from './private-containerd.js';

let containerd: PrivateContainerd | undefined;
let reg: TestRegistry | undefined;
let core: TestCore | undefined;
let work: string | undefined;
let busybox: BuiltImage;
let layered: BuiltImage;
let bb: string;
let lay: string;
/** busybox converted to Docker schema 2 media types by skopeo, and its manifest digest. */
let v2s2: string;
let v2s2Digest: string;
let nsSeq = 0;

beforeAll(async () => {
  containerd = await startPrivateContainerd();
  [busybox, layered] = await Promise.all([busyboxImage(), layeredImage()]);
  reg = await startRegistry({ auth: 'none' });
  await pushImage(busybox.layoutDir, 'library/busybox:1', { registry: reg });
  await pushImage(layered.layoutDir, 'library/layered:1', { registry: reg });
  v2s2Digest = await pushImage(busybox.layoutDir, 'library/busybox:v2s2', { registry: reg, format: 'v2s2' });
  work = tempDir('berth-ctr-interop-');
  core = openTestCore();
  bb = (await pull(core, `${reg.host}/library/busybox:1`, { namespace: 'default' })).image.name;
  lay = (await pull(core, `${reg.host}/library/layered:1`, { namespace: 'default' })).image.name;
  v2s2 = (await pull(core, `${reg.host}/library/busybox:v2s2`, { namespace: 'default' })).image.name;
});
afterAll(async () => {
  // Each step runs even when an earlier one fails.
  const steps = [() => containerd?.stop(), () => reg?.stop(), () => core?.close(), () => work && rmSync(work, { recursive: true, force: true })];
  const errors: unknown[] = [];
  for (const step of steps) await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
  if (errors.length > 0) throw errors[0];
});

async function exportTo(names: string[], format: ArchiveFormat): Promise<string> {
  const file = join(work!, `export-${format}-${names.length}-${nsSeq}.tar`);
  const out = createWriteStream(file);
  await exportImages(core!, names, out, { namespace: 'default', format });
  out.end();
  await finished(out);
  return file;
}

/** Imports `file` with ctr into a fresh namespace; returns that namespace's image list. */
async function ctrImport(file: string): Promise<{ namespace: string; images: Map<string, { mediaType: string; digest: string }> }> {
  const namespace = `berthtest${nsSeq++}`;
  await containerd!.ctr(namespace, ['images', 'import', file]);
  const listed = parseImageList(await containerd!.ctr(namespace, ['images', 'ls']));
  return { namespace, images: new Map(listed.map((i) => [i.name, { mediaType: i.mediaType, digest: i.digest }])) };
}

/** The image berth's own import makes of the archive: name -> its manifest's config and layer digests. */
async function berthImport(file: string): Promise<Map<string, { config: string; layers: string[] }>> {
  const fresh = openTestCore();
  try {
    const result = await importArchive(fresh, createReadStream(file), { namespace: 'default' });
    const out = new Map<string, { config: string; layers: string[] }>();
    for (const i of result.images) out.set(i.name, manifestDigests(await fresh.content.readBytes(i.target.digest)));
    return out;
  } finally {
    fresh.close();
  }
}

function manifestDigests(bytes: Buffer): { config: string; layers: string[] } {
  const m = parseManifest(bytes);
  return { config: m.config.digest, layers: m.layers.map((l) => l.digest) };
}

/** The manifest containerd stored under `digest`, checked to hash to it. */
async function ctrManifest(namespace: string, digest: string): Promise<{ config: string; layers: string[] }> {
  const bytes = Buffer.from(await containerd!.ctr(namespace, ['content', 'get', digest]));
  expect(sha256(bytes)).toBe(digest);
  return manifestDigests(bytes);
}

/** Unpacking is on by default: containerd committed one snapshot per layer, keyed by chain id. */
async function expectUnpacked(namespace: string, image: BuiltImage): Promise<void> {
  const snapshots = await containerd!.ctr(namespace, ['snapshots', 'ls']);
  for (const id of chainIds(image.layers.map((l) => l.diffId as Digest))) expect(snapshots).toContain(id);
}

describe('ctr images import of berth exports', () => {
  it('an OCI layout archive of one image: same name, same manifest digest, unpacked', async () => {
    const file = await exportTo([bb], 'oci');
    const { namespace, images } = await ctrImport(file);
    expect([...images.keys()]).toEqual([bb]);
    expect(images.get(bb)).toEqual({ mediaType: busybox.manifestMediaType, digest: busybox.manifestDigest });
    await expectUnpacked(namespace, busybox);
  });

  it('an OCI layout archive of several images, one of them with Docker media types', async () => {
    const file = await exportTo([bb, lay, v2s2], 'oci');
    const { namespace, images } = await ctrImport(file);
    expect([...images.keys()].sort()).toEqual([bb, lay, v2s2].sort());
    expect(images.get(bb)?.digest).toBe(busybox.manifestDigest);
    expect(images.get(lay)?.digest).toBe(layered.manifestDigest);
    expect(images.get(v2s2)).toEqual({ mediaType: MediaType.DockerManifest, digest: v2s2Digest });
    await expectUnpacked(namespace, busybox);
    await expectUnpacked(namespace, layered);
  });

  // A docker-archive carries no manifest: containerd (like berth's import)
  // writes one over the archive's config and layer tars. Both must name the
  // image's own config and, as layers, the uncompressed tars (digest = diff_id).
  it('a docker-archive of one image: containerd builds its manifest over the same config and layer tars', async () => {
    const file = await exportTo([bb], 'docker');
    const { namespace, images } = await ctrImport(file);
    expect([...images.keys()]).toEqual([bb]);
    expect(images.get(bb)?.mediaType).toBe(MediaType.DockerManifest);
    const expected = { config: busybox.configDigest, layers: busybox.layers.map((l) => l.diffId) };
    expect(await ctrManifest(namespace, images.get(bb)!.digest)).toEqual(expected);
    expect((await berthImport(file)).get(bb)).toEqual(expected);
    await expectUnpacked(namespace, busybox);
  });

  it('a docker-archive of several images', async () => {
    const file = await exportTo([bb, lay], 'docker');
    const { namespace, images } = await ctrImport(file);
    const berth = await berthImport(file);
    expect([...images.keys()].sort()).toEqual([bb, lay].sort());
    for (const [name, built] of [[bb, busybox], [lay, layered]] as const) {
      const expected = { config: built.configDigest, layers: built.layers.map((l) => l.diffId) };
      expect(await ctrManifest(namespace, images.get(name)!.digest)).toEqual(expected);
      expect(berth.get(name)).toEqual(expected);
      await expectUnpacked(namespace, built);
    }
  });
});

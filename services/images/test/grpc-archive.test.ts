// ImportImages and ExportImages of the real images service over gRPC, with
// archives written and read by skopeo on the other side.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images, types } from '@berth/api';
import { busyboxImage, skopeo, withSkopeoSource, type BuiltImage } from '@berth/testkit';
import { collect, grpcError, ns, rpc, startImagesService, type ImagesHarness } from './grpc-harness.js';

let svc: ImagesHarness;
let busybox: BuiltImage;
let dir: string;
let dockerArchive: string;
let ociArchive: string;

beforeAll(async () => {
  busybox = await busyboxImage();
  dir = mkdtempSync(join(tmpdir(), 'berth-images-archive-'));
  dockerArchive = join(dir, 'busybox-docker.tar');
  ociArchive = join(dir, 'busybox-oci.tar');
  await withSkopeoSource(busybox.layoutDir, undefined, async (source) => {
    await skopeo(['copy', '--quiet', source, `docker-archive:${dockerArchive}:example.com/test/busybox:v1`]);
    await skopeo(['copy', '--quiet', source, `oci-archive:${ociArchive}:latest`]);
  });
  svc = await startImagesService();
});

afterAll(async () => {
  await svc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** ImportImages: the options, then the archive in 64 KiB chunks. */
function importArchive(bytes: Buffer, options: Partial<images.ImportOptions>, metadata = new grpc.Metadata()) {
  return new Promise<images.ImportImagesResponse>((resolve, reject) => {
    const call = svc.clients.transfer.importImages(metadata, (err, res) => (err ? reject(err) : resolve(res!)));
    call.write(images.ImportImagesRequest.fromPartial({ payload: { $case: 'options', value: images.ImportOptions.fromPartial(options) } }));
    for (let off = 0; off < bytes.length; off += 64 * 1024) {
      call.write(images.ImportImagesRequest.fromPartial({ payload: { $case: 'chunk', value: bytes.subarray(off, off + 64 * 1024) } }));
    }
    call.end();
  });
}

async function exportArchive(names: string[], format: images.ArchiveFormat, platforms: types.Platform[] = []): Promise<Buffer> {
  const chunks = await collect(svc.clients.transfer.exportImages({ names, format, platforms }));
  return Buffer.concat(chunks.map((c) => c.chunk));
}

const listNames = (metadata = new grpc.Metadata()) =>
  rpc<images.ListImagesResponse>((cb) => svc.clients.images.listImages({ filters: [] }, metadata, cb)).then((r) => r.images.map((i) => i.name));
const inspect = (name: string) =>
  rpc<images.InspectImageResponse>((cb) => svc.clients.images.inspectImage(images.InspectImageRequest.fromPartial({ name }), cb));

async function skopeoInspect(transport: string): Promise<{ Digest: string; Layers: string[] }> {
  const { stdout } = await skopeo(['inspect', transport]);
  return JSON.parse(stdout.toString('utf8')) as { Digest: string; Layers: string[] };
}

describe('Transfer.ImportImages', () => {
  it('imports a docker-archive skopeo wrote, streamed by the client', async () => {
    const res = await importArchive(readFileSync(dockerArchive), { format: images.ArchiveFormat.DOCKER, labels: { from: 'skopeo' } });
    expect(res.images.map((i) => i.name)).toEqual(['example.com/test/busybox:v1']);
    expect(res.images[0]?.labels).toEqual({ from: 'skopeo' });
    const info = await inspect('example.com/test/busybox:v1');
    expect(info.diffIds).toEqual(busybox.layers.map((l) => l.diffId));
    const config = JSON.parse(info.configJson.toString('utf8')) as { config: { Cmd: string[] } };
    expect(config.config.Cmd).toEqual(['sh']);
  });

  it('imports an OCI archive whose image is named only by a tag under the base name, keeping its digest', async () => {
    const res = await importArchive(readFileSync(ociArchive), { baseName: 'example.com/base/busybox' }, ns('imports'));
    expect(res.images.map((i) => i.name)).toEqual(['example.com/base/busybox:latest']);
    expect(res.images[0]?.target?.digest).toBe(busybox.manifestDigest);
    expect(await listNames(ns('imports'))).toEqual(['example.com/base/busybox:latest']);
  });

  it('refuses an archive of another format than asked, bytes that are no archive, and a stream without options', async () => {
    const before = await listNames();
    const wrongFormat = await grpcError(importArchive(readFileSync(dockerArchive), { format: images.ArchiveFormat.OCI }));
    expect(wrongFormat.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(wrongFormat.details).toContain('archive is a docker-archive, not an OCI image layout as asked');

    const garbage = await grpcError(importArchive(randomBytes(10_000), {}));
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);

    const noOptions = await grpcError(
      new Promise((resolve, reject) => {
        const call = svc.clients.transfer.importImages((err, res) => (err ? reject(err) : resolve(res)));
        call.write(images.ImportImagesRequest.fromPartial({ payload: { $case: 'chunk', value: Buffer.from('tar?') } }));
        call.end();
      }),
    );
    expect(noOptions.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noOptions.details).toContain('first message must carry the options');
    expect(await listNames()).toEqual(before);
  });
});

describe('Transfer.ExportImages', () => {
  it('exports an OCI archive that skopeo reads as the same image', async () => {
    const info = await inspect('example.com/test/busybox:v1');
    const file = join(dir, 'exported-oci.tar');
    writeFileSync(file, await exportArchive(['example.com/test/busybox:v1'], images.ArchiveFormat.OCI));
    const seen = await skopeoInspect(`oci-archive:${file}`);
    expect(seen.Digest).toBe(info.image?.target?.digest);
    expect(seen.Layers).toEqual(info.layers.map((l) => l.digest));
  });

  it('exports a docker-archive that skopeo reads with its tag and uncompressed layers', async () => {
    const file = join(dir, 'exported-docker.tar');
    writeFileSync(file, await exportArchive(['example.com/test/busybox:v1'], images.ArchiveFormat.DOCKER));
    // Naming the tag makes skopeo look it up in the archive's manifest.json.
    const seen = await skopeoInspect(`docker-archive:${file}:example.com/test/busybox:v1`);
    expect(seen.Layers).toEqual(busybox.layers.map((l) => l.diffId));
  });

  it('round-trips: what it exports imports back to the same digest', async () => {
    const bytes = await exportArchive(['example.com/test/busybox:v1'], images.ArchiveFormat.UNSPECIFIED);
    const back = await importArchive(bytes, { format: images.ArchiveFormat.OCI }, ns('roundtrip'));
    const original = await inspect('example.com/test/busybox:v1');
    expect(back.images.map((i) => [i.name, i.target?.digest])).toEqual([['example.com/test/busybox:v1', original.image?.target?.digest]]);
  });

  it('refuses unknown images and more than one platform for a docker-archive', async () => {
    const unknown = await grpcError(exportArchive(['example.com/nope:v1'], images.ArchiveFormat.OCI));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toContain('example.com/nope:v1');
    const platforms = ['amd64', 'arm64'].map((architecture) => types.Platform.fromPartial({ os: 'linux', architecture }));
    const two = await grpcError(exportArchive(['example.com/test/busybox:v1'], images.ArchiveFormat.DOCKER, platforms));
    expect(two.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await grpcError(exportArchive([], images.ArchiveFormat.OCI))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

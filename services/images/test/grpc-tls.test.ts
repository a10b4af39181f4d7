// The service setting images.registries against the real docker-registry
// serving HTTPS on 127.0.0.1 with a certificate from a throwaway CA: with the
// CA configured (caFile) a pull works; without it the pull fails naming the
// host and the certificate problem; a request may bring the CA itself; a CA
// file that cannot be read stops the service at start, saying which.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images } from '@berth/api';
import { layeredImage, pushImage, startRegistry, type BuiltImage, type TestRegistry } from '@berth/testkit';
import { collect, grpcError, rpc, startImagesService, type ImagesHarness } from './grpc-harness.js';

let reg: TestRegistry;
let layered: BuiltImage;
let trusting: ImagesHarness | undefined;
let untrusting: ImagesHarness | undefined;

beforeAll(async () => {
  layered = await layeredImage();
  reg = await startRegistry({ auth: 'none', tls: true });
  expect(reg.url).toBe(`https://${reg.host}`);
  await pushImage(layered.layoutDir, 'library/layered:v1', { registry: reg });
  trusting = await startImagesService({ config: { images: { registries: { [reg.host]: { caFile: reg.tls!.caFile } } } } });
  // HTTPS (a loopback registry is plain HTTP by default), but no CA to trust.
  untrusting = await startImagesService({ config: { images: { registries: { [reg.host]: { plainHttp: false } } } } });
});
afterAll(async () => {
  await trusting?.stop();
  await untrusting?.stop();
  await reg?.stop();
});

const ref = () => `${reg.host}/library/layered:v1`;
const pull = (svc: ImagesHarness, registry?: Partial<images.RegistryOptions>) =>
  collect(
    svc.clients.transfer.pullImage(
      images.PullImageRequest.fromPartial({ reference: ref(), unpack: false, ...(registry ? { registry } : {}) }),
    ),
  );
const getImage = (svc: ImagesHarness) => rpc<images.GetImageResponse>((cb) => svc.clients.images.getImage({ name: ref() }, cb));

describe('registries with their own CA (images.registries)', () => {
  it('pulls over HTTPS from a registry whose CA is configured', async () => {
    const messages = await pull(trusting!);
    const last = messages.at(-1)?.event;
    expect(last?.$case === 'image' && last.value.target?.digest).toBe(layered.manifestDigest);
    expect((await getImage(trusting!)).image?.target?.digest).toBe(layered.manifestDigest);
  });

  it('without the CA: FAILED_PRECONDITION naming the host and the certificate problem, nothing recorded', async () => {
    const err = await grpcError(pull(untrusting!));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain(`https://${reg.host}/v2/library/layered/manifests/v1`);
    expect(err.details).toContain(`the TLS certificate of ${reg.host} is not trusted: unable to verify the first certificate`);
    expect(err.details).toContain(`images.registries["${reg.host}"].caFile`);
    expect((await grpcError(getImage(untrusting!))).code).toBe(grpc.status.NOT_FOUND);
    const content = await rpc<images.ListContentResponse>((cb) => untrusting!.clients.content.listContent({ filters: [] }, cb));
    expect(content.infos).toEqual([]);
  });

  it('a request may bring the CA for its registry', async () => {
    const messages = await pull(untrusting!, { caPem: Buffer.from(reg.tls!.caPem) });
    const last = messages.at(-1)?.event;
    expect(last?.$case === 'image' && last.value.target?.digest).toBe(layered.manifestDigest);
  });

  it('a CA file that cannot be read stops the service at start, naming the setting and the file', async () => {
    const missing = join(reg.dataDir, 'no-such-ca.pem');
    const err = await startImagesService({ config: { images: { registries: { [reg.host]: { caFile: missing } } } } }).then(
      async (svc) => {
        await svc.stop();
        throw new Error('the service started with an unreadable CA file');
      },
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain(`images.registries["${reg.host}"].caFile: cannot read ${missing}`);
    expect(err.message).toContain('ENOENT');
  });
});

// Registry trouble seen through the gRPC API: content that fails
// verification (a fake registry), and authentication against the test kit's
// real registry in basic and token modes (credentials from the service's
// docker config, from the request, and `berth login`'s check).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images } from '@berth/api';
import { busyboxImage, pushImage, startRegistry, type BuiltImage, type TestRegistry } from '@berth/testkit';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildTestImage, type TestImage } from './fixtures.js';
import { collect, grpcError, rpc, startImagesService, type ImagesHarness } from './grpc-harness.js';
import { sha256 } from './helpers.js';

function pull(svc: ImagesHarness, reference: string, registry?: Partial<images.RegistryOptions>) {
  return collect(
    svc.clients.transfer.pullImage(
      images.PullImageRequest.fromPartial({ reference, unpack: false, ...(registry ? { registry: images.RegistryOptions.fromPartial(registry) } : {}) }),
    ),
  );
}

const listNames = (svc: ImagesHarness) =>
  rpc<images.ListImagesResponse>((cb) => svc.clients.images.listImages({ filters: [] }, cb)).then((r) => r.images.map((i) => i.name));
const listContent = (svc: ImagesHarness) =>
  rpc<images.ListContentResponse>((cb) => svc.clients.content.listContent({ filters: [] }, cb)).then((r) => r.infos.map((i) => i.digest));
const listIngests = (svc: ImagesHarness) =>
  rpc<images.ListIngestsResponse>((cb) => svc.clients.content.listIngests({ filters: [] }, cb)).then((r) => r.statuses.map((s) => s.ref));

describe('content that fails verification', () => {
  let svc: ImagesHarness;
  let reg: FakeRegistry;
  let image: TestImage;

  beforeAll(async () => {
    svc = await startImagesService();
    reg = await startFakeRegistry();
    image = await buildTestImage({ seed: 'grpc' });
    reg.addImage('app', 'v1', image);
  });
  afterAll(async () => {
    await reg?.close();
    await svc?.stop();
  });

  it('a blob whose bytes do not match its digest: DATA_LOSS naming both digests, no record, no blob', async () => {
    const layer = image.layers[1]!;
    const bad = Buffer.from(layer.bytes);
    bad[bad.length - 100] = bad[bad.length - 100]! ^ 0x55;
    reg.blobs.set(layer.digest, bad);
    const err = await grpcError(pull(svc, `${reg.host}/app:v1`));
    expect(err.code).toBe(grpc.status.DATA_LOSS);
    expect(err.details).toContain(`digest mismatch: expected ${layer.digest}, got ${sha256(bad)}`);
    expect(await listNames(svc)).toEqual([]);
    expect(await listContent(svc)).toEqual([]);
    expect(await listIngests(svc)).toEqual([]);
    reg.blobs.set(layer.digest, layer.bytes);
  });

  it('a manifest whose digest is not the one asked for: DATA_LOSS, no record', async () => {
    const other = await buildTestImage({ seed: 'other' });
    reg.manifests.set(`app:${image.manifest.digest}`, { mediaType: other.manifest.mediaType, bytes: other.manifest.bytes });
    const err = await grpcError(pull(svc, `${reg.host}/app@${image.manifest.digest}`));
    expect(err.code).toBe(grpc.status.DATA_LOSS);
    expect(err.details).toContain(`not the ${image.manifest.digest} asked for`);
    expect(await listNames(svc)).toEqual([]);
    expect(await listContent(svc)).toEqual([]);
  });

  it('after the registry is fixed, the same pull succeeds', async () => {
    reg.addImage('app', 'v1', image);
    const messages = await pull(svc, `${reg.host}/app:v1`);
    const last = messages.at(-1)?.event;
    expect(last?.$case === 'image' && last.value.target?.digest).toBe(image.manifest.digest);
  });
});

describe('a pull the client cancels', () => {
  let svc: ImagesHarness;
  let reg: FakeRegistry;
  let image: TestImage;

  beforeAll(async () => {
    svc = await startImagesService();
    reg = await startFakeRegistry();
    image = await buildTestImage({ seed: 'slow' });
    reg.addImage('slow', 'v1', image);
  });
  afterAll(async () => {
    await reg?.close();
    await svc?.stop();
  });

  it('stops the download, keeps the partial ingest, and the next pull resumes it with a Range request', async () => {
    const layer = image.layers[1]!;
    const half = Math.floor(layer.size / 2);
    let registrySawClose!: () => void;
    const closed = new Promise<void>((resolve) => (registrySawClose = resolve));
    reg.hook = (req, res, route) => {
      if (route.kind !== 'blob' || route.ref !== layer.digest || req.method !== 'GET') return false;
      // Half the blob, then silence: the pull is stuck until someone gives up.
      res.writeHead(200, { 'content-length': layer.size });
      res.write(layer.bytes.subarray(0, half));
      res.on('close', () => registrySawClose());
      return true;
    };
    const call = svc.clients.transfer.pullImage(images.PullImageRequest.fromPartial({ reference: `${reg.host}/slow:v1`, unpack: false }));
    const failure = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    await new Promise<void>((resolve) => {
      call.on('data', (m: images.PullImageResponse) => {
        if (m.event?.$case === 'progress' && m.event.value.blobs.some((b) => b.digest === layer.digest && b.current >= half)) resolve();
      });
    });
    call.cancel();
    expect((await failure).code).toBe(grpc.status.CANCELLED);
    await closed; // the service dropped its connection to the registry

    const ingests = await rpc<images.ListIngestsResponse>((cb) => svc.clients.content.listIngests({ filters: [] }, cb));
    const partial = ingests.statuses.find((st) => st.expected === layer.digest);
    expect(partial?.offset).toBe(half);
    expect(await listNames(svc)).toEqual([]);

    reg.hook = undefined;
    const messages = await pull(svc, `${reg.host}/slow:v1`);
    expect(messages.at(-1)?.event?.$case).toBe('image');
    const ranged = reg.requests.filter((r) => r.url.endsWith(layer.digest) && r.headers.range !== undefined);
    expect(ranged.map((r) => r.headers.range)).toEqual([`bytes=${half}-`]);
  });
});

describe.each(['basic', 'token'] as const)('registry with %s auth', (mode) => {
  let reg: TestRegistry;
  let busybox: BuiltImage;
  let anonymous: ImagesHarness;
  let configured: ImagesHarness;

  beforeAll(async () => {
    busybox = await busyboxImage();
    reg = await startRegistry({ auth: mode });
    await pushImage(busybox.layoutDir, 'private/busybox:v1', { registry: reg });
    anonymous = await startImagesService();
    const auth = Buffer.from(`${reg.auth!.username}:${reg.auth!.password}`).toString('base64');
    configured = await startImagesService({ dockerConfig: { auths: { [reg.host]: { auth } } } });
  });
  afterAll(async () => {
    await anonymous?.stop();
    await configured?.stop();
    await reg?.stop();
  });

  it('without credentials a pull is UNAUTHENTICATED and says how to log in', async () => {
    const err = await grpcError(pull(anonymous, `${reg.host}/private/busybox:v1`));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toContain(`berth login ${reg.host}`);
    expect(await listNames(anonymous)).toEqual([]);
  });

  it("pulls with the credentials in the service's docker config", async () => {
    const messages = await pull(configured, `${reg.host}/private/busybox:v1`);
    const last = messages.at(-1)?.event;
    expect(last?.$case === 'image' && last.value.target?.digest).toBe(busybox.manifestDigest);
  });

  it('pulls with credentials given in the request; wrong ones are UNAUTHENTICATED', async () => {
    const ref = `${reg.host}/private/busybox:v1`;
    const wrong = await grpcError(pull(anonymous, ref, { credentials: { username: reg.auth!.username, password: 'wrong', identityToken: '', registryToken: '' } }));
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(wrong.details).not.toContain('wrong');
    const messages = await pull(anonymous, ref, { credentials: { ...reg.auth!, identityToken: '', registryToken: '' } });
    expect(messages.at(-1)?.event?.$case).toBe('image');
  });

  it('VerifyRegistryCredentials accepts the right credentials and refuses others (berth login)', async () => {
    const verify = (password: string) =>
      rpc<images.VerifyRegistryCredentialsResponse>((cb) =>
        anonymous.clients.transfer.verifyRegistryCredentials(
          images.VerifyRegistryCredentialsRequest.fromPartial({
            registryHost: reg.host,
            registry: { credentials: { username: reg.auth!.username, password } },
          }),
          cb,
        ),
      );
    const ok = await verify(reg.auth!.password);
    if (mode === 'token') {
      // The token service hands out a refresh token to store instead of the password; it works on its own.
      expect(ok.identityToken).not.toBe('');
      const again = await rpc<images.VerifyRegistryCredentialsResponse>((cb) =>
        anonymous.clients.transfer.verifyRegistryCredentials(
          images.VerifyRegistryCredentialsRequest.fromPartial({
            registryHost: `http://${reg.host}/`,
            registry: { credentials: { identityToken: ok.identityToken } },
          }),
          cb,
        ),
      );
      expect(again).toBeDefined();
    } else {
      expect(ok.identityToken).toBe('');
    }
    const refused = await grpcError(verify('not-the-password'));
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.details).toContain(reg.host);
    expect(refused.details).not.toContain('not-the-password');

    const none = await grpcError(
      rpc((cb) => anonymous.clients.transfer.verifyRegistryCredentials(images.VerifyRegistryCredentialsRequest.fromPartial({ registryHost: reg.host }), cb)),
    );
    expect(none.code).toBe(grpc.status.INVALID_ARGUMENT);
    const badHost = await grpcError(
      rpc((cb) =>
        anonymous.clients.transfer.verifyRegistryCredentials(
          images.VerifyRegistryCredentialsRequest.fromPartial({ registryHost: 'not a host', registry: { credentials: { username: 'u', password: 'p' } } }),
          cb,
        ),
      ),
    );
    expect(badHost.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

// A real grpc-js server on a unix socket, serving generated definitions with
// one real handler merged over the UNIMPLEMENTED ones, called through the
// generated clients.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, types, unimplementedHandlers, withUnimplemented } from '../src/index.js';

const target = types.Descriptor.fromPartial({
  mediaType: 'application/vnd.oci.image.index.v1+json',
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 512,
  annotations: { 'org.opencontainers.image.ref.name': 'latest' },
});

let dir: string;
let server: grpc.Server;
let address: string;
const clients: grpc.Client[] = [];

function client<T extends grpc.Client>(Client: new (address: string, credentials: grpc.ChannelCredentials) => T): T {
  const made = new Client(address, grpc.credentials.createInsecure());
  clients.push(made);
  return made;
}

/** The error a call ended with; fails the test when it succeeded. */
function errorOf(start: (done: (error: grpc.ServiceError | null) => void) => void): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    start((error) => (error ? resolve(error) : reject(new Error('call succeeded; expected an error'))));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-api-grpc-'));
  address = `unix:${join(dir, 'images.sock')}`;
  server = new grpc.Server();
  server.addService(
    images.ImagesService,
    withUnimplemented<images.ImagesServer>(images.ImagesService, {
      getImage(call, callback) {
        callback(null, {
          image: {
            name: call.request.name,
            target,
            labels: { origin: 'test' },
            createdAt: { seconds: 1_700_000_000, nanos: 123_456_789 },
          },
        });
      },
    }),
  );
  server.addService(images.TransferService, unimplementedHandlers(images.TransferService));
  server.addService(images.ContentService, unimplementedHandlers(images.ContentService));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
});

afterAll(async () => {
  for (const made of clients) made.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('generated definitions over grpc-js', () => {
  it('serves a real handler', async () => {
    const imagesClient = client(images.ImagesClient);
    const response = await new Promise<images.GetImageResponse>((resolve, reject) =>
      imagesClient.getImage({ name: 'docker.io/library/busybox:latest' }, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    expect(response.image).toEqual({
      name: 'docker.io/library/busybox:latest',
      target,
      labels: { origin: 'test' },
      createdAt: { seconds: 1_700_000_000, nanos: 123_456_789 },
    });
  });

  it('answers UNIMPLEMENTED for a unary method without a handler', async () => {
    const imagesClient = client(images.ImagesClient);
    const error = await errorOf((done) => imagesClient.listImages({ filters: [] }, (e) => done(e)));
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe('berth.images.v1.Images.ListImages is not implemented yet');
  });

  it('answers UNIMPLEMENTED for a server-streaming method', async () => {
    const transfer = client(images.TransferClient);
    const error = await errorOf((done) => {
      const call = transfer.pullImage({ reference: 'busybox', unpack: true, snapshotter: '', labels: {} });
      call.on('data', () => done(null));
      call.on('error', (e: grpc.ServiceError) => done(e));
    });
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe('berth.images.v1.Transfer.PullImage is not implemented yet');
  });

  it('answers UNIMPLEMENTED for a client-streaming method', async () => {
    const transfer = client(images.TransferClient);
    const error = await errorOf((done) => {
      const call = transfer.importImages((e) => done(e));
      call.write({ payload: { $case: 'chunk', value: Buffer.from('not an archive') } });
      call.end();
    });
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe('berth.images.v1.Transfer.ImportImages is not implemented yet');
  });

  it('answers UNIMPLEMENTED for a bidi-streaming method', async () => {
    const content = client(images.ContentClient);
    const error = await errorOf((done) => {
      const call = content.writeContent();
      call.on('data', () => done(null));
      call.on('error', (e: grpc.ServiceError) => done(e));
      call.write({
        action: images.WriteAction.STAT,
        ref: 'test-ref',
        total: 0,
        expected: '',
        offset: 0,
        data: Buffer.alloc(0),
        labels: {},
        leaseId: '',
      });
    });
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe('berth.images.v1.Content.WriteContent is not implemented yet');
  });

  it('refuses a handler that matches no method', () => {
    expect(() =>
      withUnimplemented<grpc.UntypedServiceImplementation>(images.ImagesService, {
        getImages: () => undefined,
      }),
    ).toThrow('handler "getImages" matches no method of the service definition');
  });
});

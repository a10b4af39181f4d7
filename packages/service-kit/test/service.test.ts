import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as protoLoader from '@grpc/proto-loader';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { images, withUnimplemented } from '@berth/api';
import { startNats } from '@berth/testkit';
import { baseConfigSchema } from '../src/config.js';
import { checkHealth, createClient } from '../src/grpc-client.js';
import { notFound, unary } from '../src/errors.js';
import { startService, type RunningService } from '../src/run-service.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let dir: string;

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  dir = mkdtempSync(join(tmpdir(), 'berth-kit-'));
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const argvFor = (name: string) => [
  '--root', join(dir, 'root'),
  '--runtime-dir', join(dir, 'run'),
  '--nats.url', nats.url,
  '--node', 'kit-node',
  '--log.level', 'silent',
  '--grpc.drain-timeout-ms', '2000',
];

function imagesSpec(name: string) {
  return {
    name,
    version: '1.2.3',
    configSchema: baseConfigSchema,
    setup: async () => ({
      services: [
        {
          definition: images.ImagesService,
          handlers: withUnimplemented<images.ImagesServer>(images.ImagesService, {
            getImage: unary(async (req: images.GetImageRequest) => {
              // "slow:<ms>": answers after that long (for the drain test)
              const slow = /^slow:(\d+)$/.exec(req.name);
              if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
              else if (req.name !== 'known') throw notFound(`image "${req.name}" not found`);
              return images.GetImageResponse.fromPartial({ image: { name: 'known' } });
            }),
          }) as unknown as grpc.UntypedServiceImplementation,
        },
      ],
    }),
  };
}

const call = <T>(fn: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res as T))));

describe('startService', () => {
  let svc: RunningService<typeof baseConfigSchema._output>;

  it('serves its API, health and reflection on a 0660 unix socket and writes its state file', async () => {
    svc = await startService(imagesSpec('kit'), { argv: argvFor('kit'), env: {} });
    const sock = join(dir, 'run', 'kit.sock');
    expect(statSync(sock).mode & 0o777).toBe(0o660);
    expect(await checkHealth(sock)).toBe('SERVING');
    expect(await checkHealth(sock, 'berth.images.v1.Images')).toBe('SERVING');
    const state = JSON.parse(readFileSync(join(dir, 'run', 'kit.json'), 'utf8'));
    expect(state).toMatchObject({ service: 'kit', pid: process.pid, version: '1.2.3', node: 'kit-node', socket: sock });

    const client = createClient(images.ImagesClient, sock);
    const res = await call<images.GetImageResponse>((cb) => client.getImage({ name: 'known' }, cb));
    expect(res.image?.name).toBe('known');
    await expect(call((cb) => client.getImage({ name: 'nope' }, cb))).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'image "nope" not found',
    });
    await expect(call((cb) => client.listImages({ filters: [] }, cb))).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
    });
    client.close();
  });

  it('refuses to start a second instance on a live socket, closing what its setup opened', async () => {
    let closed = 0;
    const spec = imagesSpec('kit');
    const tracked = { ...spec, setup: async () => ({ ...(await spec.setup()), close: () => void closed++ }) };
    await expect(startService(tracked, { argv: argvFor('kit'), env: {} })).rejects.toThrow(/another process is serving on/);
    expect(closed).toBe(1);
  });

  it('stops gracefully: not serving, socket and state file removed', async () => {
    await svc.stop();
    const sock = join(dir, 'run', 'kit.sock');
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(join(dir, 'run', 'kit.json'))).toBe(false);
    expect(await checkHealth(sock)).toBe('UNREACHABLE');
  });

  it('replaces a stale socket left by a crash', async () => {
    const sock = join(dir, 'run', 'stale.sock');
    // a socket file nobody listens on, as a kill -9 leaves it
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    srv.close();
    await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(sock)) writeFileSync(sock, '');
    const s = await startService(imagesSpec('stale'), { argv: argvFor('stale'), env: {} });
    expect(await checkHealth(sock)).toBe('SERVING');
    await s.stop();
  });

  it('fails start-up clearly when NATS is unreachable', async () => {
    await expect(
      startService(imagesSpec('nonats'), {
        argv: [...argvFor('nonats'), '--nats.url', 'nats://127.0.0.1:1'],
        env: {},
      }),
    ).rejects.toThrow(/127\.0\.0\.1:1|ECONNREFUSED|CONNECTION_REFUSED/);
  });
});

describe('TCP with mTLS', () => {
  it('accepts a client with a certificate from the CA and refuses one without', async () => {
    const pki = join(dir, 'pki');
    execFileSync('mkdir', ['-p', pki]);
    const sh = (args: string) => execFileSync('sh', ['-c', args], { cwd: pki, stdio: 'pipe' });
    sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=berth-test-ca');
    for (const n of ['server', 'client']) {
      sh(`openssl req -newkey rsa:2048 -nodes -keyout ${n}.key -out ${n}.csr -subj /CN=localhost`);
      sh(
        `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > ${n}.ext && openssl x509 -req -in ${n}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${n}.crt -days 1 -extfile ${n}.ext`,
      );
    }
    const s = await startService(imagesSpec('tls'), {
      argv: [
        ...argvFor('tls'),
        '--grpc.tcp', '127.0.0.1:0',
        '--grpc.tls.ca-file', join(pki, 'ca.crt'),
        '--grpc.tls.cert-file', join(pki, 'server.crt'),
        '--grpc.tls.key-file', join(pki, 'server.key'),
      ],
      env: {},
    });
    try {
      const port = s.grpc.tcpPort!;
      expect(port).toBeGreaterThan(0);
      const good = createClient(images.ImagesClient, `localhost:${port}`, {
        caFile: join(pki, 'ca.crt'),
        certFile: join(pki, 'client.crt'),
        keyFile: join(pki, 'client.key'),
      });
      const res = await call<images.GetImageResponse>((cb) => good.getImage({ name: 'known' }, cb));
      expect(res.image?.name).toBe('known');
      good.close();
      const noCert = new images.ImagesClient(
        `localhost:${port}`,
        grpc.credentials.createSsl(readFileSync(join(pki, 'ca.crt'))),
      );
      await expect(
        call((cb) => noCert.getImage({ name: 'known' }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, cb)),
      ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      noCert.close();
    } finally {
      await s.stop();
    }
  });

  it('refuses a TCP listener without mTLS files', async () => {
    await expect(
      startService(imagesSpec('notls'), { argv: [...argvFor('notls'), '--grpc.tcp', '127.0.0.1:0'], env: {} }),
    ).rejects.toThrow(/grpc.tcp needs mTLS/);
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('a running service', () => {
  it('lists its APIs through gRPC server reflection', async () => {
    const svc = await startService(imagesSpec('refl'), { argv: argvFor('refl'), env: {} });
    const proto = createRequire(import.meta.url).resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(proto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(`unix:${join(dir, 'run', 'refl.sock')}`, grpc.credentials.createInsecure());
    try {
      const stream = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] } }> }).ServerReflectionInfo();
      const answer = new Promise<string[]>((resolve, reject) => {
        stream.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => resolve((m.list_services_response?.service ?? []).map((x) => x.name)));
        stream.on('error', reject);
      });
      stream.write({ list_services: '' });
      const names = await answer;
      stream.end();
      expect(names).toContain('berth.images.v1.Images');
    } finally {
      client.close();
      await svc.stop();
    }
  });

  it('serves Prometheus metrics only on the port it is given, with service and node labels', async () => {
    const port = await freePort();
    const svc = await startService(imagesSpec('metrics'), { argv: [...argvFor('metrics'), '--metrics.port', String(port)], env: {} });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^process_cpu_seconds_total\{[^}]*service="metrics"[^}]*\} /m);
      expect(text).toMatch(/node="kit-node"/);
    } finally {
      await svc.stop();
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    const quiet = await startService(imagesSpec('nometrics'), { argv: argvFor('nometrics'), env: {} });
    try {
      // the default: no listener anywhere for it
      expect(quiet.ctx.config.metrics.port).toBeUndefined();
    } finally {
      await quiet.stop();
    }
  });

  it('stop() lets a call in flight finish and refuses new ones; a call outliving the drain timeout is cancelled', async () => {
    const svc = await startService(imagesSpec('drain'), { argv: argvFor('drain'), env: {} });
    const sock = join(dir, 'run', 'drain.sock');
    const client = createClient(images.ImagesClient, sock);
    const other = createClient(images.ImagesClient, sock);
    try {
      const inFlight = call<images.GetImageResponse>((cb) => client.getImage({ name: 'slow:500' }, cb));
      const tooLong = call<images.GetImageResponse>((cb) => client.getImage({ name: 'slow:10000' }, cb)).then(
        () => 'answered',
        (err: grpc.ServiceError) => err.code,
      );
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const stopping = svc.stop();
      // a new client cannot reach it any more
      await expect(call((cb) => other.getImage({ name: 'known' }, cb))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect((await inFlight).image).toBeDefined();
      await stopping;
      // drain timeout is 2000 ms (argvFor): the 10 s call was cut, not waited for
      expect(Date.now() - started).toBeLessThan(6000);
      expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE, grpc.status.INTERNAL]).toContain(await tooLong);
    } finally {
      client.close();
      other.close();
    }
  });
});

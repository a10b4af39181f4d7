// HTTPS registries: a custom CA makes a self-signed registry trusted; without
// it the TLS failure is reported clearly and nothing is stored.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../packages/testkit/src/index.js';
import { pull } from '../src/pull.js';
import { statusCodeOf } from '../src/errors.js';
import { buildTestImage, type TestImage } from './fixtures.js';
import { blobFiles, openTestCore, rejection, tempDir } from './helpers.js';

let dir: string;
let servers: Server[] = [];
let image: TestImage;
let caPem: string;
/** Two HTTPS registries with the same self-signed certificate (IP 127.0.0.1), on two ports. */
let host: string;
let otherHost: string;

async function startTlsRegistry(key: Buffer): Promise<string> {
  const server = createServer({ key, cert: caPem }, (req, res) => {
    const path = req.url ?? '';
    const manifest = /^\/v2\/app\/manifests\/(v1|sha256:[0-9a-f]+)$/.exec(path);
    if (manifest) {
      res.writeHead(200, { 'content-type': image.manifest.mediaType }).end(image.manifest.bytes);
      return;
    }
    const blob = /^\/v2\/app\/blobs\/(sha256:[0-9a-f]+)$/.exec(path);
    const bytes = blob ? image.blobs.get(blob[1]!) : undefined;
    if (bytes) res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const openssl = requireBinary('openssl', 'apt-get install openssl');
  dir = tempDir('berth-tls-');
  execFileSync(openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=berth test registry', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  image = await buildTestImage({ seed: 'tls' });
  const key = readFileSync(join(dir, 'key.pem'));
  host = await startTlsRegistry(key);
  otherHost = await startTlsRegistry(key);
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  servers = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS registry', () => {
  it('pulls over HTTPS when the registry certificate is signed by the CA configured for that registry', async () => {
    const core = openTestCore({ hosts: { [host]: { ca: caPem } } });
    try {
      expect(core.registry.schemeFor(host)).toBe('https'); // a CA of its own means TLS, even on loopback
      const result = await pull(core, `${host}/app:v1`, { namespace: 'default' });
      expect(result.target.digest).toBe(image.manifest.digest);
    } finally {
      core.close();
    }
  });

  it('refuses a certificate it cannot verify, naming the host and the certificate problem', async () => {
    const core = openTestCore({ hosts: { [host]: { plainHttp: false } } });
    try {
      const err = await rejection(pull(core, `${host}/app:v1`, { namespace: 'default' }));
      expect(err.message).toContain(`GET https://${host}/v2/app/manifests/v1: the TLS certificate of ${host} is not trusted: self-signed certificate`);
      expect(err.message).toContain(`images.registries["${host}"].caFile`);
      expect(statusCodeOf(err)).toBe('FAILED_PRECONDITION');
      expect(core.images.list('default')).toEqual([]);
      expect(blobFiles(core)).toEqual([]);
    } finally {
      core.close();
    }
  });

  it("a registry's CA is trusted for that registry only", async () => {
    const core = openTestCore({ hosts: { [host]: { ca: caPem }, [otherHost]: { plainHttp: false } } });
    try {
      expect((await pull(core, `${host}/app:v1`, { namespace: 'default' })).target.digest).toBe(image.manifest.digest);
      const err = await rejection(pull(core, `${otherHost}/app:v1`, { namespace: 'default' }));
      expect(err.message).toContain(`the TLS certificate of ${otherHost} is not trusted`);
    } finally {
      core.close();
    }
  });

  it('insecureSkipVerify accepts the certificate without a CA', async () => {
    const core = openTestCore({ hosts: { [host]: { skipTlsVerify: true } } });
    try {
      expect(core.registry.schemeFor(host)).toBe('https');
      const result = await pull(core, `${host}/app:v1`, { namespace: 'default' });
      expect(result.target.digest).toBe(image.manifest.digest);
    } finally {
      core.close();
    }
  });
});

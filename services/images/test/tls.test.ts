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
import { buildTestImage, type TestImage } from './fixtures.js';
import { blobFiles, openTestCore, rejection, tempDir } from './helpers.js';

let dir: string;
let server: Server;
let host: string;
let image: TestImage;
let caPem: string;

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
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: caPem }, (req, res) => {
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS registry', () => {
  it('pulls over HTTPS when the registry certificate is signed by the configured CA', async () => {
    const core = openTestCore({ tlsRegistries: [host], ca: caPem });
    try {
      expect(core.registry.schemeFor(host)).toBe('https');
      const result = await pull(core, `${host}/app:v1`, { namespace: 'default' });
      expect(result.target.digest).toBe(image.manifest.digest);
    } finally {
      core.close();
    }
  });

  it('refuses a certificate it cannot verify, saying so', async () => {
    const core = openTestCore({ tlsRegistries: [host] });
    try {
      const err = await rejection(pull(core, `${host}/app:v1`, { namespace: 'default' }));
      expect(err.message).toMatch(new RegExp(`GET https://${host.replace(/\./g, '\\.')}/v2/app/manifests/v1: self[- ]signed certificate`));
      expect(core.images.list('default')).toEqual([]);
      expect(blobFiles(core)).toEqual([]);
    } finally {
      core.close();
    }
  });
});

// Registry client behaviour that needs a registry to do something specific:
// bearer token flow (scopes, caching, expiry, identity tokens), redirects to
// another host, scheme selection; plus the pure helpers.
import { statSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseReference } from '@berth/oci';
import { parseWwwAuthenticate } from '../src/registry/auth.js';
import { RegistryClient } from '../src/registry/client.js';
import { hostsFromConfig, schemeFor, withRequestSettings } from '../src/registry/hosts.js';
import {
  credentialsFor,
  readDockerConfig,
  removeCredentials,
  setCredentials,
  writeDockerConfig,
} from '../src/registry/docker-config.js';
import { backoffDelay, parseRetryAfter, DEFAULT_RETRY } from '../src/registry/retry.js';
import { pull } from '../src/pull.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildTestImage, type TestImage } from './fixtures.js';
import { openTestCore, startFakeServer, tempDir, type FakeServer, type TestCore, rejection } from './helpers.js';

describe('WWW-Authenticate parsing', () => {
  it('reads bearer and basic challenges with quoted, escaped and bare values', () => {
    expect(
      parseWwwAuthenticate('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'),
    ).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a \\"quoted\\" realm", charset=UTF-8')).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm', charset: 'UTF-8' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="x", Bearer realm="https://t/",error="insufficient_scope"').map((c) => c.scheme)).toEqual([
      'basic',
      'bearer',
    ]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});

describe('retry helpers', () => {
  it('backs off exponentially with jitter inside [cap/2, cap]', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(p, 0, () => 0)).toBe(50);
    expect(backoffDelay(p, 0, () => 1)).toBe(100);
    expect(backoffDelay(p, 3, () => 1)).toBe(800);
    expect(backoffDelay(p, 10, () => 0.5)).toBe(750);
  });
  it('parses Retry-After in seconds and as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('per-registry settings (images.registries)', () => {
  it('picks the scheme: the entry first, TLS settings mean HTTPS, then loopback and the insecure list', () => {
    const hosts = {
      '127.0.0.1:5443': { ca: '-----BEGIN CERTIFICATE-----' },
      '127.0.0.1:6000': { plainHttp: false },
      'lab.example:5000': { skipTlsVerify: true },
      'legacy.example': { plainHttp: true },
    };
    const rules = { hosts, insecureRegistries: ['insecure.example'] };
    expect(schemeFor('127.0.0.1:5443', rules)).toBe('https');
    expect(schemeFor('127.0.0.1:6000', rules)).toBe('https');
    expect(schemeFor('127.0.0.1:5000', rules)).toBe('http');
    expect(schemeFor('lab.example:5000', rules)).toBe('https');
    expect(schemeFor('legacy.example', rules)).toBe('http');
    expect(schemeFor('insecure.example', rules)).toBe('http');
    expect(schemeFor('registry.example.com', rules)).toBe('https');
    expect(schemeFor('127.0.0.1:5443', { ...rules, plainHttp: true })).toBe('http');
  });

  it('reads the service setting: keys normalised, CA files read, mistakes named', () => {
    const dir = tempDir('berth-hosts-');
    try {
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const notPem = join(dir, 'not.pem');
      writeFileSync(notPem, 'hello');
      expect(hostsFromConfig({ 'https://reg.example:5443/': { caFile: ca }, 'index.docker.io': { insecureSkipVerify: true } })).toEqual({
        'reg.example:5443': { ca: readFileSync(ca, 'utf8') },
        'docker.io': { skipTlsVerify: true },
      });
      expect(() => hostsFromConfig({ 'not a host': {} })).toThrow('images.registries["not a host"]: registry "not a host" is not a host[:port]');
      expect(() => hostsFromConfig({ 'r.example': { caFile: join(dir, 'missing.pem') } })).toThrow(
        `images.registries["r.example"].caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`,
      );
      expect(() => hostsFromConfig({ 'r.example': { caFile: notPem } })).toThrow(`images.registries["r.example"].caFile: ${notPem} holds no PEM certificate`);
      expect(() => hostsFromConfig({ 'r.example': { plainHttp: true, caFile: ca } })).toThrow('plainHttp is true, so caFile and insecureSkipVerify would never apply');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("adds a request's TLS settings to its registry's entry", () => {
    expect(withRequestSettings({ ca: 'A', plainHttp: false }, { ca: 'B' })).toEqual({ ca: ['A', 'B'], plainHttp: false });
    expect(withRequestSettings(undefined, { skipTlsVerify: true })).toEqual({ skipTlsVerify: true });
    expect(withRequestSettings({ skipTlsVerify: true }, { plainHttp: true })).toEqual({ skipTlsVerify: true, plainHttp: true });
  });
});

describe('docker config.json credentials', () => {
  it('writes 0600, reads auth/username/password/identitytoken, handles Docker Hub keys and logout', () => {
    const dir = tempDir('berth-cfg-');
    try {
      const path = join(dir, 'sub', 'config.json');
      expect(readDockerConfig(path)).toEqual({ auths: {} });
      let cfg = setCredentials(readDockerConfig(path), 'reg.example.com:5000', { username: 'alice', password: 'pa:ss' });
      cfg = setCredentials(cfg, 'docker.io', { username: 'bob', password: 'hub' });
      cfg = setCredentials({ ...cfg, credsStore: 'desktop' }, 'id.example.com', { username: '<token>', identityToken: 'refresh-me' });
      writeDockerConfig(path, cfg);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const read = readDockerConfig(path);
      expect(read.credsStore).toBe('desktop');
      expect(read.auths!['https://index.docker.io/v1/']).toBeDefined();
      expect(credentialsFor(read, 'reg.example.com:5000')).toEqual({ username: 'alice', password: 'pa:ss' });
      expect(credentialsFor(read, 'registry-1.docker.io')).toEqual({ username: 'bob', password: 'hub' });
      expect(credentialsFor(read, 'id.example.com')).toEqual({ username: '<token>', identityToken: 'refresh-me' });
      expect(credentialsFor({ auths: { 'https://other.example/v2/': { username: 'u', password: 'p' } } }, 'other.example')).toEqual({
        username: 'u',
        password: 'p',
      });
      expect(credentialsFor(read, 'unknown.example')).toBeUndefined();
      const out = removeCredentials(read, 'reg.example.com:5000');
      expect(credentialsFor(out, 'reg.example.com:5000')).toBeUndefined();

      writeDockerConfig(path, { auths: {} });
      rmSync(path);
      writeFileSync(path, '{"auths": {"x": {"auth": "c2VjcmV0LXN0dWZm"}}, broken');
      expect(() => readDockerConfig(path)).toThrow(`credentials file ${path} is not valid JSON`);
      try {
        readDockerConfig(path);
      } catch (err) {
        expect((err as Error).message).not.toContain('c2VjcmV0');
      }
      expect(readFileSync(path, 'utf8')).toContain('broken');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('registry client against fake servers', () => {
  let reg: FakeRegistry;
  let tokens: FakeServer;
  let core: TestCore;
  let image: TestImage;
  let tokenRequests: { url: URL; authorization?: string; body?: string }[];
  let expiresIn: number;

  beforeEach(async () => {
    reg = await startFakeRegistry();
    image = await buildTestImage();
    reg.addImage('team/app', 'v1', image);
    tokenRequests = [];
    expiresIn = 300;
    tokens = await startFakeServer((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      tokenRequests.push({ url, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), body: body.toString() });
      const basic = req.headers.authorization === `Basic ${Buffer.from('alice:wonder').toString('base64')}`;
      const refresh = req.method === 'POST' && new URLSearchParams(body.toString()).get('refresh_token') === 'idtok';
      if (!basic && !refresh) {
        res.writeHead(401).end();
        return;
      }
      const scope = url.searchParams.getAll('scope').join(' ') || new URLSearchParams(body.toString()).get('scope') || '';
      const token = `tok-${tokenRequests.length}-${Buffer.from(scope).toString('base64url')}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(refresh ? { access_token: token, expires_in: expiresIn } : { token, expires_in: expiresIn }));
    });
    // The registry wants a bearer token whose scope covers the repository.
    reg.hook = (req, res, r) => {
      const auth = req.headers.authorization ?? '';
      const scope = Buffer.from(auth.split('-').slice(2).join('-'), 'base64url').toString();
      const wanted = `repository:${r.repo}:pull`;
      if (!auth.startsWith('Bearer tok-') || !scope.includes(wanted)) {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${tokens.url}/token",service="fake-registry",scope="${wanted}"`,
        });
        res.end();
        return true;
      }
      return false;
    };
  });
  afterEach(async () => {
    core?.close();
    await reg.close();
    await tokens.close();
  });

  it('gets a bearer token with basic credentials for the right service and scope, and reuses it', async () => {
    core = openTestCore({ credentials: (host) => (host === reg.host ? { username: 'alice', password: 'wonder' } : undefined) });
    await pull(core, `${reg.host}/team/app:v1`, { namespace: 'default' });
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.url.searchParams.get('service')).toBe('fake-registry');
    expect(tokenRequests[0]!.url.searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
    expect(tokenRequests[0]!.authorization).toBe(`Basic ${Buffer.from('alice:wonder').toString('base64')}`);
    // First request anonymous, challenged once; every later one carries the cached token.
    const unauthenticated = reg.requests.filter((r) => !r.headers.authorization);
    expect(unauthenticated).toHaveLength(1);
    await pull(core, `${reg.host}/team/app:v1`, { namespace: 'again' });
    expect(tokenRequests).toHaveLength(1);
  });

  it('fetches a new token once the cached one expires', async () => {
    expiresIn = 1;
    core = openTestCore({ credentials: () => ({ username: 'alice', password: 'wonder' }) });
    await pull(core, `${reg.host}/team/app:v1`, { namespace: 'default' });
    expect(tokenRequests).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    await pull(core, `${reg.host}/team/app:v1`, { namespace: 'default' });
    expect(tokenRequests).toHaveLength(2);
  });

  it('exchanges an identity token (config.json identitytoken) with the OAuth2 refresh flow', async () => {
    core = openTestCore({ credentials: () => ({ username: '<token>', identityToken: 'idtok' }) });
    await pull(core, `${reg.host}/team/app:v1`, { namespace: 'default' });
    expect(tokenRequests).toHaveLength(1);
    const form = new URLSearchParams(tokenRequests[0]!.body);
    expect(form.get('grant_type')).toBe('refresh_token');
    expect(form.get('service')).toBe('fake-registry');
    expect(form.get('scope')).toBe('repository:team/app:pull');
  });

  it('reports a token server refusing the credentials, without the password', async () => {
    core = openTestCore({ credentials: () => ({ username: 'alice', password: 'wrong-password' }) });
    const err = await rejection(pull(core, `${reg.host}/team/app:v1`, { namespace: 'default' }));
    expect(err.message).toMatch(/token from http:\/\/127\.0\.0\.1:\d+\/token: the token server refused the configured credentials \(HTTP 401\)/);
    expect(err.message).not.toContain('wrong-password');
    expect(core.images.list('default')).toEqual([]);
  });

  it('follows blob redirects to another host without sending it the registry credentials', async () => {
    const cdn = await startFakeServer((req, res) => {
      const digest = decodeURIComponent((req.url ?? '').slice('/cdn/'.length).split('?')[0]!);
      const b = image.blobs.get(digest);
      if (!b) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': b.length }).end(b);
    });
    try {
      reg.hook = (req, res, r) => {
        if (req.headers.authorization !== `Basic ${Buffer.from('alice:wonder').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
          return true;
        }
        if (r.kind !== 'blob') return false;
        res.writeHead(307, { location: `${cdn.url}/cdn/${encodeURIComponent(r.ref!)}?X-Signature=secret` }).end();
        return true;
      };
      core = openTestCore({ credentials: () => ({ username: 'alice', password: 'wonder' }) });
      const result = await pull(core, `${reg.host}/team/app:v1`, { namespace: 'default' });
      expect(result.layers.every((l) => core.content.has(l.digest))).toBe(true);
      expect(cdn.requests.length).toBe(1 + image.layers.length);
      expect(cdn.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    } finally {
      await cdn.close();
    }
  });

  it('speaks plain HTTP to localhost, 127.0.0.0/8, insecure-listed hosts or with plainHttp; HTTPS otherwise', () => {
    const c = new RegistryClient({ insecureRegistries: ['insecure.example:5000'] });
    try {
      expect(c.schemeFor('localhost:5000')).toBe('http');
      expect(c.schemeFor('127.1.2.3:80')).toBe('http');
      expect(c.schemeFor('insecure.example:5000')).toBe('http');
      expect(c.schemeFor('registry.example.com')).toBe('https');
      expect(c.schemeFor('docker.io')).toBe('https');
    } finally {
      c.close();
    }
    const plain = new RegistryClient({ plainHttp: true });
    expect(plain.schemeFor('registry.example.com')).toBe('http');
    plain.close();
  });

  it('resolves without storing anything and verifies fetched child manifests against their descriptor', async () => {
    core = openTestCore({ credentials: () => ({ username: 'alice', password: 'wonder' }) });
    const ref = parseReference(`${reg.host}/team/app:v1`);
    const resolved = await core.registry.resolve(ref);
    expect(resolved.descriptor).toEqual({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size });
    expect(resolved.document.kind).toBe('manifest');
    const err = await rejection(core.registry
      .fetchManifest(ref, { ...resolved.descriptor, size: resolved.descriptor.size + 1 })
      );
    expect(err.message).toMatch(/registry sent \d+ bytes, the descriptor says \d+/);
    expect(core.content.list()).toEqual([]);
  });
});

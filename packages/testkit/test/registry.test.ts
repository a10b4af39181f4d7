import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../src/image.js';
import { busyboxImage } from '../src/images/busybox.js';
import { MEDIA_TYPES } from '../src/media-types.js';
import { pushImage } from '../src/push.js';
import { decodeJwt, signJwtRs256 } from '../src/registry/jwt.js';
import { startRegistry, type RegistryAuthMode, type TestRegistry } from '../src/registry/registry.js';
import { tempDirs } from './helpers.js';

const ACCEPT = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList].join(', ');

function basicHeader(r: TestRegistry): string {
  if (!r.auth) throw new Error('registry has no credentials');
  return `Basic ${Buffer.from(`${r.auth.username}:${r.auth.password}`).toString('base64')}`;
}

async function getManifest(r: TestRegistry, repo: string, ref: string, authorization?: string): Promise<Response> {
  return fetch(`${r.url}/v2/${repo}/manifests/${ref}`, {
    headers: { accept: ACCEPT, ...(authorization ? { authorization } : {}) },
  });
}

function parseChallenge(header: string | null): Record<string, string> {
  const m = /^Bearer\s+(.*)$/i.exec(header ?? '');
  if (!m?.[1]) throw new Error(`not a Bearer challenge: ${header}`);
  return Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] ?? '', x[2] ?? '']));
}

/** The Docker token flow as a client does it: challenge → token endpoint with Basic → Bearer. */
async function bearerFor(r: TestRegistry, repo: string, ref: string): Promise<string> {
  const challenge = await getManifest(r, repo, ref);
  expect(challenge.status).toBe(401);
  const params = parseChallenge(challenge.headers.get('www-authenticate'));
  expect(params.realm).toBe(r.token?.realm);
  expect(params.service).toBe(r.token?.service);
  const url = new URL(params.realm ?? '');
  url.searchParams.set('service', params.service ?? '');
  url.searchParams.set('scope', params.scope ?? '');
  const res = await fetch(url, { headers: { authorization: basicHeader(r) } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
  expect(body.access_token).toBe(body.token);
  expect(body.expires_in).toBeGreaterThan(0);
  expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
  return body.token;
}

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

// answers /v2/ on 127.0.0.1 and takes a push with the right credentials
async function pushWithCredentials(registry: TestRegistry, mode: RegistryAuthMode): Promise<void> {
  expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
  const v2 = await fetch(`${registry.url}/v2/`);
  expect(v2.status).toBe(mode === 'none' ? 200 : 401);
  expect(registry.auth === undefined).toBe(mode === 'none');

  const img = await busyboxImage();
  const digest = await pushImage(img.layoutDir, 'library/busybox:1', { registry });
  expect(digest).toBe(img.manifestDigest);

  if (mode === 'none') {
    const res = await getManifest(registry, 'library/busybox', '1');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
  } else {
    const anonymous = await getManifest(registry, 'library/busybox', '1');
    expect(anonymous.status).toBe(401);
    await expect(
      pushImage(img.layoutDir, 'library/busybox:anon', { registry, creds: null }),
    ).rejects.toThrow(/unauthorized|authentication required|401/i);
    await expect(
      pushImage(img.layoutDir, 'library/busybox:wrong', { registry, creds: { username: 'berth', password: 'wrong' } }),
    ).rejects.toThrow();
  }
}

// serves the manifest to Basic credentials
async function basicManifest(registry: TestRegistry): Promise<void> {
  const img = await busyboxImage();
  const res = await getManifest(registry, 'library/busybox', '1', basicHeader(registry));
  expect(res.status).toBe(200);
  expect(res.headers.get('docker-content-digest')).toBe(img.manifestDigest);
  expect(res.headers.get('content-type')).toBe(MEDIA_TYPES.ociManifest);
}

// issues tokens the registry accepts, and the registry rejects forged ones
async function tokenFlow(registry: TestRegistry): Promise<void> {
  const img = await busyboxImage();
  const before = registry.token?.issuedCount() ?? 0;
  const token = await bearerFor(registry, 'library/busybox', '1');
  expect(registry.token?.issuedCount()).toBe(before + 1);
  const { header, claims } = decodeJwt(token);
  expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
  expect(header.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  expect(claims).toMatchObject({
    iss: registry.token?.issuer,
    aud: registry.token?.service,
    access: [{ type: 'repository', name: 'library/busybox', actions: ['pull'] }],
  });

  const ok = await getManifest(registry, 'library/busybox', '1', `Bearer ${token}`);
  expect(ok.status).toBe(200);
  expect(ok.headers.get('docker-content-digest')).toBe(img.manifestDigest);

  // the registry really verifies: same claims and kid, signed by another key → refused
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = signJwtRs256(header, claims, privateKey);
  expect((await getManifest(registry, 'library/busybox', '1', `Bearer ${forged}`)).status).toBe(401);
  // and so is a token signed by the right key for another repository
  const elsewhere = await bearerFor(registry, 'other/repo', 'x');
  expect((await getManifest(registry, 'library/busybox', '1', `Bearer ${elsewhere}`)).status).toBe(401);

  // the token endpoint refuses missing or wrong credentials
  const realm = registry.token?.realm ?? '';
  expect((await fetch(`${realm}?service=${registry.token?.service}&scope=repository:library/busybox:pull`)).status).toBe(401);
  const wrong = await fetch(`${realm}?scope=repository:library/busybox:pull`, {
    headers: { authorization: `Basic ${Buffer.from('berth:nope').toString('base64')}` },
  });
  expect(wrong.status).toBe(401);

  // OAuth2 password grant (as containerd uses) works too
  const form = new URLSearchParams({
    grant_type: 'password',
    service: registry.token?.service ?? '',
    scope: 'repository:library/busybox:pull',
    username: registry.auth?.username ?? '',
    password: registry.auth?.password ?? '',
    client_id: 'berth-test',
  });
  const posted = await fetch(realm, { method: 'POST', body: form });
  expect(posted.status).toBe(200);
  const { access_token } = (await posted.json()) as { access_token: string };
  expect((await getManifest(registry, 'library/busybox', '1', `Bearer ${access_token}`)).status).toBe(200);
}

// takes Docker schema2 images byte for byte, converts on request, and takes indexes
async function dockerAndIndexes(registry: TestRegistry, mode: RegistryAuthMode): Promise<void> {
  const docker = await busyboxImage({ mediaTypes: 'docker' });
  const digest = await pushImage(docker.layoutDir, 'library/busybox:docker', { registry });
  expect(digest).toBe(docker.manifestDigest);

  const oci = await busyboxImage();
  const converted = await pushImage(oci.layoutDir, 'library/busybox:v2s2', { registry, format: 'v2s2' });
  expect(converted).not.toBe(oci.manifestDigest);

  const indexDir = await tmp.make('reg-index');
  const layers = [[{ type: 'file' as const, path: '/hello', content: 'hi\n' }]];
  const index = await buildIndex(
    [
      { layers, platform: 'linux/amd64', mediaTypes: 'docker' },
      { layers, platform: 'linux/arm64/v8', mediaTypes: 'docker' },
    ],
    indexDir,
    { mediaTypes: 'docker', refName: 'multi' },
  );
  const indexDigest = await pushImage(indexDir, 'multi/arch:1', { registry });
  expect(indexDigest).toBe(index.indexDigest);

  const auth =
    mode === 'none'
      ? undefined
      : mode === 'basic'
        ? basicHeader(registry)
        : `Bearer ${await bearerFor(registry, 'library/busybox', 'v2s2')}`;
  const res = await getManifest(registry, 'library/busybox', 'v2s2', auth);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(MEDIA_TYPES.dockerManifest);
  expect(res.headers.get('docker-content-digest')).toBe(converted);

  const listAuth = mode === 'token' ? `Bearer ${await bearerFor(registry, 'multi/arch', '1')}` : auth;
  const list = await getManifest(registry, 'multi/arch', '1', listAuth);
  expect(list.status).toBe(200);
  expect(list.headers.get('content-type')).toBe(MEDIA_TYPES.dockerManifestList);
  expect(list.headers.get('docker-content-digest')).toBe(index.indexDigest);
}

const MODE_TESTS: Record<RegistryAuthMode, [string, typeof pushWithCredentials][]> = {
  none: [],
  basic: [['serves the manifest to Basic credentials', basicManifest]],
  token: [['issues tokens the registry accepts, and the registry rejects forged ones', tokenFlow]],
};

describe.each<RegistryAuthMode>(['none', 'basic', 'token'])('registry with auth %s', (mode) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: mode });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('answers /v2/ on 127.0.0.1 and takes a push with the right credentials', () => pushWithCredentials(registry, mode));
  it('takes Docker schema2 images byte for byte, converts on request, and takes indexes', () =>
    dockerAndIndexes(registry, mode));
  for (const [title, fn] of MODE_TESTS[mode]) it(title, () => fn(registry, mode));
});

describe('startRegistry', () => {
  it('removes its temp dirs on stop and runs registries side by side', async () => {
    const a = await startRegistry();
    const b = await startRegistry({ auth: 'basic' });
    try {
      expect(a.host).not.toBe(b.host);
      expect(a.dataDir).not.toBe(b.dataDir);
    } finally {
      await a.stop();
      await b.stop();
    }
    const { existsSync } = await import('node:fs');
    expect(existsSync(a.dataDir)).toBe(false);
    expect(existsSync(b.dataDir)).toBe(false);
    await expect(fetch(`${a.url}/v2/`)).rejects.toThrow();
    await a.stop(); // twice is fine
  });
});

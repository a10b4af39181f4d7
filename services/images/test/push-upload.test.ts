// Push details a real registry does not show on demand: a mount the registry
// declines (202: an upload session instead), monolithic and chunked uploads,
// and the exact manifest bytes and media type.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pull } from '../src/pull.js';
import { push } from '../src/push.js';
import { SOURCE_LABEL_PREFIX } from '../src/pull.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildTestImage, type TestImage } from './fixtures.js';
import { openTestCore, sha256, type TestCore } from './helpers.js';

let reg: FakeRegistry;
let core: TestCore;
let image: TestImage;
const uploads = new Map<string, Buffer[]>();
const pushedManifests: { path: string; type: string | undefined; body: Buffer }[] = [];

beforeEach(async () => {
  reg = await startFakeRegistry();
  core = openTestCore();
  image = await buildTestImage({ seed: 'push' });
  reg.addImage('src/app', 'v1', image);
  uploads.clear();
  pushedManifests.length = 0;
});
afterEach(async () => {
  core.close();
  await reg.close();
});

/** Upload endpoints: mounts are declined with a session, uploads are kept until PUT ?digest= checks them. */
function acceptUploads(dest: string): void {
  const held = new Set<string>(); // blobs the destination repository has
  reg.hook = (req, res, r, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (r.kind === 'blob' && r.repo === dest) {
      res.writeHead(held.has(r.ref!) ? 200 : 404, { 'content-length': 0 }).end();
      return true;
    }
    if (url.pathname === `/v2/${dest}/blobs/uploads/` && req.method === 'POST') {
      const id = randomUUID();
      uploads.set(id, []);
      res.writeHead(202, { location: `/v2/${dest}/blobs/uploads/${id}?_state=opaque`, 'content-length': 0 }).end();
      return true;
    }
    const session = new RegExp(`^/v2/${dest}/blobs/uploads/([0-9a-f-]+)$`).exec(url.pathname);
    if (session) {
      const parts = uploads.get(session[1]!)!;
      expect(url.searchParams.get('_state')).toBe('opaque');
      parts.push(body);
      if (req.method === 'PATCH') {
        res.writeHead(202, { location: `/v2/${dest}/blobs/uploads/${session[1]}?_state=opaque`, 'content-length': 0 }).end();
        return true;
      }
      const digest = url.searchParams.get('digest')!;
      const all = Buffer.concat(parts);
      if (sha256(all) !== digest) {
        res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
        return true;
      }
      reg.blobs.set(digest, all);
      held.add(digest);
      res.writeHead(201, { 'docker-content-digest': digest, 'content-length': 0 }).end();
      return true;
    }
    if (r.kind === 'manifest' && req.method === 'PUT') {
      const bytes = body;
      pushedManifests.push({ path: url.pathname, type: req.headers['content-type'], body: bytes });
      res.writeHead(201, { 'docker-content-digest': sha256(bytes), 'content-length': 0 }).end();
      return true;
    }
    return false;
  };
}

describe('push uploads', () => {
  it('falls back to an upload when the registry declines a mount, and sends the manifest bytes unchanged', async () => {
    await pull(core, `${reg.host}/src/app:v1`, { namespace: 'default' });
    expect(core.content.info(image.config.digest).labels[SOURCE_LABEL_PREFIX + reg.host]).toBe('src/app');
    acceptUploads('dst/app');
    const result = await push(core, `${reg.host}/src/app:v1`, `${reg.host}/dst/app:v2`, { namespace: 'default' });
    expect(result.blobs.map((b) => b.result)).toEqual(result.blobs.map(() => 'uploaded'));
    const mounts = reg.requests.filter((r) => r.method === 'POST' && r.url.includes('mount='));
    expect(mounts.length).toBe(1 + image.layers.length);
    expect(mounts.every((m) => m.url.includes('from=src%2Fapp'))).toBe(true);
    for (const [d, b] of image.blobs) expect(reg.blobs.get(d)!.equals(b)).toBe(true);
    expect(pushedManifests).toEqual([{ path: '/v2/dst/app/manifests/v2', type: image.manifest.mediaType, body: image.manifest.bytes }]);
  });

  it('uploads in PATCH chunks when asked', async () => {
    await pull(core, `${reg.host}/src/app:v1`, { namespace: 'default' });
    acceptUploads('chunky');
    const big = image.layers[1]!;
    await push(core, `${reg.host}/src/app:v1`, `${reg.host}/chunky:v1`, { namespace: 'default', chunkSize: 50_000 });
    const patches = reg.requests.filter((r) => r.method === 'PATCH');
    expect(patches.length).toBe(Math.ceil(big.size / 50_000));
    expect(patches.map((p) => p.headers['content-range'])[0]).toBe('0-49999');
    expect(reg.blobs.get(big.digest)!.equals(big.bytes)).toBe(true);
  });
});

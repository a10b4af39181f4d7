// Every bad input from issue 3, each against a fake registry: a clear error,
// no image recorded, no blob from the failed pull in the store, no half file.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType } from '@berth/oci';
import { ingestPath } from '../src/content/paths.js';
import { pull } from '../src/pull.js';
import { statusCodeOf } from '../src/errors.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildIndex, buildTestImage, type TestImage } from './fixtures.js';
import { blobFiles, openTestCore, sha256, type TestCore, rejection } from './helpers.js';

let reg: FakeRegistry;
let core: TestCore;
let image: TestImage;

beforeEach(async () => {
  reg = await startFakeRegistry();
  core = openTestCore();
  image = await buildTestImage();
  reg.addImage('app', 'v1', image);
});
afterEach(async () => {
  core.close();
  await reg.close();
});

function ingests(): string[] {
  return readdirSync(core.content.paths.ingestDir);
}

/**
 * After a pull failed on `failed`: its ingest is gone; the other layers'
 * fetches, aborted with the pull, may keep what they had written (the next
 * pull resumes from it), and nothing else is left.
 */
function expectIngestGone(failed: string): void {
  const ingestOf = (digest: string) => basename(ingestPath(core.content.paths, `fetch-${digest}`));
  const resumable = new Set(image.layers.filter((l) => l.digest !== failed).map((l) => ingestOf(l.digest)));
  expect(ingests()).not.toContain(ingestOf(failed));
  expect(ingests().filter((name) => !resumable.has(name))).toEqual([]);
}

/** Pulls and returns the error; asserts nothing was recorded or left behind. */
async function failedPull(ref: string, opts: { platform?: string } = {}): Promise<Error> {
  const err = await pull(core, ref, { namespace: 'default', ...opts }).then(
    () => {
      throw new Error('pull succeeded but should have failed');
    },
    (e: unknown) => e as Error,
  );
  expect(core.images.list('default')).toEqual([]);
  expect(blobFiles(core)).toEqual([]);
  expect(core.content.list()).toEqual([]);
  return err;
}

describe('pull rejects bad input', () => {
  it('a blob whose bytes do not match its digest', async () => {
    const layer = image.layers[1]!;
    const bad = Buffer.from(layer.bytes);
    bad[bad.length - 100] = bad[bad.length - 100]! ^ 0x55;
    reg.blobs.set(layer.digest, bad);
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toContain(`digest mismatch: expected ${layer.digest}, got ${sha256(bad)}`);
    expect(statusCodeOf(err)).toBe('DATA_LOSS');
    expectIngestGone(layer.digest);
  });

  it('a manifest whose digest does not match the one requested (pull by digest)', async () => {
    const other = await buildTestImage({ seed: 'other' });
    // The registry answers the digest of `image` with the bytes of `other`.
    reg.manifests.set(`app:${image.manifest.digest}`, { mediaType: other.manifest.mediaType, bytes: other.manifest.bytes });
    const err = await failedPull(`${reg.host}/app@${image.manifest.digest}`);
    expect(err.message).toContain(`registry sent content with digest ${other.manifest.digest}, not the ${image.manifest.digest} asked for`);
    expect(statusCodeOf(err)).toBe('DATA_LOSS');
  });

  it("a manifest that does not match the registry's Docker-Content-Digest header", async () => {
    const wrong = sha256('something else');
    reg.hook = (req, res, r) => {
      if (r.kind !== 'manifest') return false;
      res.writeHead(200, { 'content-type': image.manifest.mediaType, 'docker-content-digest': wrong });
      res.end(image.manifest.bytes);
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toContain(`content hashes to ${image.manifest.digest}, but the registry's Docker-Content-Digest says ${wrong}`);
  });

  it('a truncated blob (connection cut mid-way): a clear error, then the next pull resumes with Range', async () => {
    const layer = image.layers[1]!;
    const cut = 100_000;
    let cutting = true;
    reg.hook = (req, res, r) => {
      if (!cutting || r.kind !== 'blob' || r.ref !== layer.digest) return false;
      res.writeHead(200, { 'content-length': layer.size });
      res.write(layer.bytes.subarray(0, cut), () => res.socket?.end());
      return true;
    };
    const err = await rejection(pull(core, `${reg.host}/app:v1`, { namespace: 'default' }));
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(new RegExp(`blob ${layer.digest} of .*app: connection lost after \\d+ of ${layer.size} bytes`));
    expect(err.message).toContain('gave up after 3 attempts');
    expect(statusCodeOf(err)).toBe('UNAVAILABLE');
    expect(core.images.list('default')).toEqual([]);
    expect(core.content.has(layer.digest)).toBe(false);
    // Only verified blobs are in blobs/; the partial layer waits in its ingest.
    for (const d of blobFiles(core)) expect([image.manifest.digest, image.config.digest, image.layers[0]!.digest]).toContain(d);
    const [status] = await core.content.statuses();
    expect(status).toMatchObject({ expected: layer.digest, total: layer.size });
    expect(status!.offset).toBeGreaterThan(0);
    expect(status!.offset).toBeLessThanOrEqual(cut);

    cutting = false;
    const before = reg.requests.length;
    const ok = await pull(core, `${reg.host}/app:v1`, { namespace: 'default' });
    expect(ok.target.digest).toBe(image.manifest.digest);
    const layerRequests = reg.requests.slice(before).filter((r) => r.url.endsWith(layer.digest));
    expect(layerRequests.map((r) => r.headers.range)).toEqual([`bytes=${status!.offset}-`]);
    expect(core.content.has(layer.digest)).toBe(true);
    expect(await core.content.statuses()).toEqual([]);
  });

  describe('a connection cut mid-blob is resumed within the same pull', () => {
    const cut = 100_000;
    /** Cuts the first response for the big layer after `cut` bytes; `then` answers the requests after it (false: the registry's normal answer). */
    function cutFirst(then: (req: { range: string | undefined }, res: import('node:http').ServerResponse) => boolean) {
      const layer = image.layers[1]!;
      let served = 0;
      reg.hook = (req, res, r) => {
        if (r.kind !== 'blob' || r.ref !== layer.digest) return false;
        if (served++ === 0) {
          res.writeHead(200, { 'content-length': layer.size });
          res.write(layer.bytes.subarray(0, cut), () => res.socket?.end());
          return true;
        }
        return then({ range: req.headers.range }, res);
      };
      return layer;
    }
    const rangesAsked = (digest: string) => reg.requests.filter((r) => r.url.endsWith(digest)).map((r) => r.headers.range);

    async function pulledFine(digest: `sha256:${string}`): Promise<void> {
      const result = await pull(core, `${reg.host}/app:v1`, { namespace: 'default' });
      expect(result.target.digest).toBe(image.manifest.digest);
      expect(core.content.has(digest)).toBe(true);
      expect(await core.content.statuses()).toEqual([]);
      expect(ingests()).toEqual([]);
    }

    /** The offset the retry asked to resume from (bytes that reached the ingest before the cut). */
    function resumedAt(range: string | undefined): number {
      const m = /^bytes=(\d+)-$/.exec(range ?? '');
      expect(m, `a Range request, got ${String(range)}`).not.toBeNull();
      const offset = Number(m![1]);
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThanOrEqual(cut);
      return offset;
    }

    /** Asked from 0, then for the rest, then (the resume refused) from 0 again. */
    function expectRestartedAfterRange(digest: string): void {
      const ranges = rangesAsked(digest);
      expect(ranges).toHaveLength(3);
      resumedAt(ranges[1]);
      expect([ranges[0], ranges[2]]).toEqual([undefined, undefined]);
    }

    it('the retry asks for the rest with Range and the registry answers 206: one Range request, the pull succeeds', async () => {
      const layer = cutFirst(() => false); // the fake registry answers Range with 206 and the rest
      await pulledFine(layer.digest);
      const ranges = rangesAsked(layer.digest);
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBeUndefined();
      resumedAt(ranges[1]);
      expect(reg.requests.filter((r) => r.headers.range !== undefined)).toHaveLength(1);
    });

    it('416 to the Range: the ingest restarts and the blob is fetched whole', async () => {
      const layer = cutFirst((req, res) => {
        if (req.range === undefined) return false;
        res.writeHead(416, { 'content-range': `bytes */${image.layers[1]!.size}` }).end();
        return true;
      });
      await pulledFine(layer.digest);
      expectRestartedAfterRange(layer.digest);
    });

    it('a 206 whose Content-Range starts elsewhere: the ingest restarts instead of splicing wrong bytes', async () => {
      const layer = cutFirst((req, res) => {
        if (req.range === undefined) return false;
        const b = image.layers[1]!.bytes;
        res.writeHead(206, { 'content-length': b.length, 'content-range': `bytes 0-${b.length - 1}/${b.length}` }).end(b);
        return true;
      });
      await pulledFine(layer.digest);
      expectRestartedAfterRange(layer.digest);
    });

    it('a 200 to the Range (the registry ignores it): the whole blob replaces the partial ingest', async () => {
      const layer = cutFirst((req, res) => {
        if (req.range === undefined) return false;
        const b = image.layers[1]!.bytes;
        res.writeHead(200, { 'content-length': b.length }).end(b);
        return true;
      });
      await pulledFine(layer.digest);
      const ranges = rangesAsked(layer.digest);
      expect(ranges).toHaveLength(2);
      resumedAt(ranges[1]);
    });
  });

  it('a blob whose size differs from the descriptor (Content-Length)', async () => {
    const layer = image.layers[0]!;
    const longer = Buffer.concat([layer.bytes, Buffer.from('extra')]);
    reg.blobs.set(layer.digest, longer);
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toContain(`registry sends ${longer.length} bytes, but the descriptor says the blob is ${layer.size} bytes`);
    expectIngestGone(layer.digest);
  });

  it('a blob with more bytes than the descriptor and no Content-Length', async () => {
    const layer = image.layers[0]!;
    reg.hook = (req, res, r) => {
      if (r.kind !== 'blob' || r.ref !== layer.digest) return false;
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.end(Buffer.concat([layer.bytes, Buffer.alloc(1000)]));
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(new RegExp(`size mismatch: expected ${layer.size}, got at least \\d+`));
    expectIngestGone(layer.digest);
  });

  it('a manifest that is not valid JSON', async () => {
    reg.manifests.set('app:v1', { mediaType: MediaType.OciManifest, bytes: Buffer.from('{"schemaVersion": 2, "config": ') });
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/manifest .*app:v1: manifest: invalid JSON/);
    expect(statusCodeOf(err)).toBe('INVALID_ARGUMENT');
  });

  it('a Docker schema 1 manifest', async () => {
    reg.manifests.set('app:v1', {
      mediaType: MediaType.DockerSchema1Manifest,
      bytes: Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', fsLayers: [] })),
    });
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/Docker schema 1 manifests are not supported/);
  });

  it('an unknown manifest media type', async () => {
    reg.manifests.set('app:v1', { mediaType: 'application/vnd.example.thing+json', bytes: Buffer.from('{"schemaVersion":2}') });
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toContain('unsupported media type "application/vnd.example.thing+json"');
  });

  it('a layer with an unsupported media type, refused before any download', async () => {
    const odd = await buildTestImage({ layerMediaType: 'application/vnd.oci.image.layer.v1.tar+encrypted' });
    reg.addImage('odd', 'v1', odd);
    const err = await failedPull(`${reg.host}/odd:v1`);
    expect(err.message).toContain('layer 0');
    expect(err.message).toContain('unsupported media type "application/vnd.oci.image.layer.v1.tar+encrypted"');
    expect(reg.requests.filter((r) => r.url.includes('/blobs/'))).toEqual([]);
  });

  it('a manifest over the 4 MiB bound (declared, and streamed without a length)', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    reg.manifests.set('app:v1', { mediaType: MediaType.OciManifest, bytes: huge });
    let err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/is 4194305 bytes, over the limit of 4194304 bytes/);
    expect(statusCodeOf(err)).toBe('RESOURCE_EXHAUSTED');

    reg.hook = (req, res, r) => {
      if (r.kind !== 'manifest') return false;
      res.writeHead(200, { 'content-type': MediaType.OciManifest, 'transfer-encoding': 'chunked' });
      res.end(huge);
      return true;
    };
    err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/over the limit of 4194304 bytes/);
  });

  it('an index with no manifest for the wanted platform: the error lists what there is', async () => {
    const arm = await buildTestImage({ arch: 'arm64' });
    const ppc = await buildTestImage({ arch: 'ppc64le' });
    const index = buildIndex([
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { image: ppc, platform: { os: 'linux', architecture: 'ppc64le' } },
    ]);
    reg.addManifest('multi', 'v1', index);
    const err = await failedPull(`${reg.host}/multi:v1`, { platform: 'linux/s390x' });
    expect(err.message).toContain('no manifest matches platform linux/s390x; available: linux/arm64/v8, linux/ppc64le');
    expect(statusCodeOf(err)).toBe('NOT_FOUND');
  });

  it('401 without credentials', async () => {
    reg.hook = (req, res) => {
      res.writeHead(401, { 'www-authenticate': `Basic realm="test"` }).end();
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toContain(`${reg.host} requires authentication and no credentials are configured for it`);
    expect(statusCodeOf(err)).toBe('UNAUTHENTICATED');
  });

  it('401 with wrong credentials, which never appear in the error', async () => {
    core.close();
    core = openTestCore({ credentials: () => ({ username: 'alice', password: 's3cret-pw' }) });
    reg.hook = (req, res) => {
      res.writeHead(401, { 'www-authenticate': `Basic realm="test"` }).end();
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toContain('refused the configured credentials (HTTP 401)');
    expect(err.message).not.toContain('s3cret-pw');
    expect(JSON.stringify(err)).not.toContain('s3cret-pw');
    const authorized = reg.requests.filter((r) => r.headers.authorization);
    expect(authorized.length).toBe(1); // tried once with the credentials, not again and again
  });

  it.each([
    [403, 'PERMISSION_DENIED', /HTTP 403/],
    [404, 'NOT_FOUND', /HTTP 404 .*MANIFEST_UNKNOWN: manifest unknown/],
  ])('%i answers fail at once with the registry message', async (status, code, pattern) => {
    reg.hook = (req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(
        JSON.stringify({ errors: [{ code: status === 404 ? 'MANIFEST_UNKNOWN' : 'DENIED', message: status === 404 ? 'manifest unknown' : 'denied' }] }),
      );
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(pattern);
    expect(statusCodeOf(err)).toBe(code);
    expect(reg.requests.length).toBe(1); // no retry on 4xx
  });

  it('429 is retried honouring Retry-After, then reported as rate limiting', async () => {
    reg.hook = (req, res) => {
      res.writeHead(429, { 'retry-after': '0' }).end();
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/HTTP 429 .*\(rate limited\) \(gave up after 3 attempts\)/);
    expect(statusCodeOf(err)).toBe('RESOURCE_EXHAUSTED');
    expect(reg.requests.length).toBe(3);
  });

  it('429 with a Retry-After longer than berth waits fails at once, saying so', async () => {
    reg.hook = (req, res) => {
      res.writeHead(429, { 'retry-after': '3600' }).end();
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/registry asks to retry after 3600 s/);
    expect(reg.requests.length).toBe(1);
  });

  it('500 is retried with backoff, then reported', async () => {
    reg.hook = (req, res) => {
      res.writeHead(500).end('internal trouble');
      return true;
    };
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/HTTP 500 .*internal trouble \(gave up after 3 attempts\)/);
    expect(statusCodeOf(err)).toBe('UNAVAILABLE');
    expect(reg.requests.length).toBe(3);
  });

  it('a transient 500 followed by success pulls fine', async () => {
    let failures = 1;
    reg.hook = (req, res, r) => {
      if (r.kind !== 'blob' || failures === 0) return false;
      failures--;
      res.writeHead(503).end();
      return true;
    };
    const result = await pull(core, `${reg.host}/app:v1`, { namespace: 'default' });
    expect(result.image.name).toBe(`${reg.host}/app:v1`);
  });

  it('a registry that never answers: a timeout error, not a hang', async () => {
    core.close();
    core = openTestCore({ timeouts: { headersMs: 200, idleMs: 200 }, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    reg.hook = () => true; // accept the request, never respond
    const err = await failedPull(`${reg.host}/app:v1`);
    expect(err.message).toMatch(/no response within 200 ms \(registry not answering\)/);
    expect(statusCodeOf(err)).toBe('DEADLINE_EXCEEDED');
  });

  it('a registry that stalls mid-blob: an idle timeout error', async () => {
    core.close();
    core = openTestCore({ timeouts: { headersMs: 1000, idleMs: 200 }, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    const layer = image.layers[1]!;
    reg.hook = (req, res, r) => {
      if (r.kind !== 'blob' || r.ref !== layer.digest) return false;
      res.writeHead(200, { 'content-length': layer.size });
      res.write(layer.bytes.subarray(0, 1000));
      return true; // and then nothing
    };
    const err = await rejection(pull(core, `${reg.host}/app:v1`, { namespace: 'default' }));
    expect(err.message).toMatch(/connection idle for 200 ms while receiving the body/);
    expect(core.images.list('default')).toEqual([]);
    expect(core.content.has(layer.digest)).toBe(false);
  });

  it.each(['', 'Busybox:latest', 'repo:bad tag', `name@sha256:${'0'.repeat(10)}`, 'a'.repeat(300)])(
    'an unparseable reference %j',
    async (ref) => {
      const err = await failedPull(ref);
      expect(err.message).toMatch(/invalid reference/);
      expect(statusCodeOf(err)).toBe('INVALID_ARGUMENT');
      expect(reg.requests).toEqual([]);
    },
  );
});

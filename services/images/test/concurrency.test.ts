// How many layer blobs a pull fetches at once, seen from the registry: a fake
// registry holds every layer GET until as many as the pull should have in
// flight have arrived (plus a short grace for any excess one), so the peak it
// records is the pull's real concurrency, independent of timing: the default
// (3), the service setting images.pullConcurrency, and a request's own.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { images } from '@berth/api';
import { pull } from '../src/pull.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildTestImage, type TestImage } from './fixtures.js';
import { collect, startImagesService, type ImagesHarness } from './grpc-harness.js';
import { openTestCore } from './helpers.js';

const LAYERS = 7;
/** How long the registry waits for an excess request once the expected number are in flight. */
const GRACE_MS = 150;
/** A pull allowing fewer than expected never fills a round: it is released after this, and the peak shows it. */
const FALLBACK_MS = 10_000;

let reg: FakeRegistry;
let image: TestImage;

beforeEach(async () => {
  reg = await startFakeRegistry();
  // Fresh layers each time: a service that already holds a blob would not fetch it.
  const nonce = randomUUID();
  image = await buildTestImage({ layers: Array.from({ length: LAYERS }, (_, i) => ({ [`layer-${i}.txt`]: `layer ${i} ${nonce}\n` })) });
  reg.addImage('app', 'v1', image);
});
afterEach(async () => {
  await reg.close();
});

/** Holds layer GETs in rounds of `expected` (or what is left); returns the peak number in flight. */
function holdLayers(expected: number): { peak(): number } {
  const layers = new Set<string>(image.layers.map((l) => l.digest));
  let active = 0;
  let peak = 0;
  let released = 0;
  let held: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const releaseAll = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = held;
    held = [];
    for (const release of batch) release();
  };
  reg.hook = (req, res, r) => {
    if (r.kind !== 'blob' || !layers.has(r.ref!)) return false;
    active++;
    peak = Math.max(peak, active);
    const bytes = reg.blobs.get(r.ref!)!;
    held.push(() => {
      active--;
      released++;
      res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    });
    const round = Math.min(expected, LAYERS - released);
    clearTimeout(timer);
    timer = setTimeout(releaseAll, active >= round ? GRACE_MS : FALLBACK_MS);
    return true;
  };
  return { peak: () => peak };
}

describe('layer fetch concurrency', () => {
  it('is 3 by default (core pull without a concurrency option)', async () => {
    const core = openTestCore();
    try {
      const seen = holdLayers(3);
      await pull(core, `${reg.host}/app:v1`, { namespace: 'default' });
      expect(seen.peak()).toBe(3);
      expect(image.layers.every((l) => core.content.has(l.digest))).toBe(true);
    } finally {
      core.close();
    }
  });

  it('follows the concurrency a core pull asks for', async () => {
    const core = openTestCore();
    try {
      const seen = holdLayers(5);
      await pull(core, `${reg.host}/app:v1`, { namespace: 'default', concurrency: 5 });
      expect(seen.peak()).toBe(5);
    } finally {
      core.close();
    }
  });
});

describe('layer fetch concurrency over gRPC', () => {
  let defaults: ImagesHarness | undefined;
  let configured: ImagesHarness | undefined;
  beforeAll(async () => {
    defaults = await startImagesService();
    configured = await startImagesService({ argv: ['--images.pull-concurrency', '2'] });
  });
  afterAll(async () => {
    await defaults?.stop();
    await configured?.stop();
  });

  const pullOver = (svc: ImagesHarness, registry?: Partial<images.RegistryOptions>) =>
    collect(
      svc.clients.transfer.pullImage(
        images.PullImageRequest.fromPartial({ reference: `${reg.host}/app:v1`, unpack: false, ...(registry ? { registry } : {}) }),
      ),
    );

  it('is 3 for a service with no setting', async () => {
    const seen = holdLayers(3);
    const messages = await pullOver(defaults!);
    expect(messages.at(-1)?.event?.$case).toBe('image');
    expect(seen.peak()).toBe(3);
  });

  it('honours images.pullConcurrency', async () => {
    const seen = holdLayers(2);
    await pullOver(configured!);
    expect(seen.peak()).toBe(2);
  });

  it("honours a request's RegistryOptions.concurrency over the service setting", async () => {
    const seen = holdLayers(5);
    await pullOver(configured!, { concurrency: 5 });
    expect(seen.peak()).toBe(5);
  });
});

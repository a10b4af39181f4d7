// ImagesCore wires the parts on one state directory; check the wiring end to
// end: pull, events, export/import, gc, and re-opening the same state.
import { PassThrough } from 'node:stream';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ImagesCore } from '../src/core.js';
import type { ImagesEvent } from '../src/events.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { buildTestImage } from './fixtures.js';
import { tempDir } from './helpers.js';

let reg: FakeRegistry | undefined;
let dir: string | undefined;
afterEach(async () => {
  await reg?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ImagesCore', () => {
  it('pulls, exports, imports, collects garbage and reopens its state', async () => {
    reg = await startFakeRegistry();
    const image = await buildTestImage({ seed: 'core' });
    reg.addImage('app', 'v1', image);
    dir = tempDir('berth-core-');
    const events: ImagesEvent[] = [];
    let core = await ImagesCore.open({ stateDir: dir, events: (e) => events.push(e), registry: { retry: { attempts: 1 } } });
    const pulled = await core.pull(`${reg.host}/app:v1`, { namespace: 'default' });
    expect(events.map((e) => e.type)).toEqual(['images.pull.started', 'images.created', 'images.pull.finished']);

    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await core.export([pulled.image.name], out, { namespace: 'default', format: 'oci' });
    const imported = await core.import([Buffer.concat(chunks)], { namespace: 'copy' });
    expect(imported.images[0]!.target.digest).toBe(image.manifest.digest);
    expect(events.map((e) => e.type).slice(3)).toEqual(['images.created', 'images.imported']);

    await core.content.writeBytes('junk', Buffer.from('junk'));
    expect(core.gc().removed).toHaveLength(1);
    expect(events.at(-1)!.type).toBe('content.gc.finished');
    core.close();

    core = await ImagesCore.open({ stateDir: dir });
    try {
      expect(core.images.list('default').map((i) => i.name)).toEqual([`${reg.host}/app:v1`]);
      expect(core.content.list()).toHaveLength(2 + image.layers.length);
      expect(core.gc().removed).toEqual([]);
    } finally {
      core.close();
    }
  });
});

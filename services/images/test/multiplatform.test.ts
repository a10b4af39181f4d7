// A multi-platform image (an index with two platforms) built by the test kit:
// imported from its layout, pushed whole to the real registry (children by
// digest, then the index under the tag) byte-identically, pulled back for one
// platform; a partially-present index cannot be pushed.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex, skopeo, startRegistry, type TestRegistry } from '../../../packages/testkit/src/index.js';
import { importArchive } from '../src/archive/import.js';
import { pull } from '../src/pull.js';
import { push } from '../src/push.js';
import { statusCodeOf } from '../src/errors.js';
import { openTestCore, rejection, sha256, tempDir, type TestCore } from './helpers.js';

let reg: TestRegistry;
let dir: string;
let indexDigest: string;
let core: TestCore;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'basic' });
  dir = tempDir('berth-multi-');
  const built = await buildIndex(
    ['linux/amd64', 'linux/arm64'].map((platform) => ({
      layers: [[{ type: 'file' as const, path: '/etc/platform', content: `${platform}\n` }]],
      platform,
    })),
    join(dir, 'layout'),
    { refName: 'multi' },
  );
  indexDigest = built.indexDigest;
  execFileSync('tar', ['-C', join(dir, 'layout'), '-cf', join(dir, 'multi.tar'), '.']);
  core = openTestCore({ credentials: () => reg.auth });
});
afterAll(async () => {
  core?.close();
  await reg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('multi-platform images', () => {
  it('imports an index, pushes it whole byte-identically, and pulls one platform back', async () => {
    const imported = await importArchive(core, [execFileSync('cat', [join(dir, 'multi.tar')])], {
      namespace: 'default',
      baseName: 'example.com/multi',
    });
    expect(imported.images.map((i) => [i.name, i.target.digest])).toEqual([['example.com/multi:multi', indexDigest]]);

    const pushed = await push(core, 'example.com/multi:multi', `${reg.host}/multi/img:all`, { namespace: 'default' });
    expect(pushed.target.digest).toBe(indexDigest);
    const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${reg.auth!.username}:${reg.auth!.password}`, `docker://${reg.host}/multi/img:all`]);
    expect(sha256(stdout)).toBe(indexDigest);

    const fresh = openTestCore({ credentials: () => reg.auth });
    try {
      const arm = await pull(fresh, `${reg.host}/multi/img:all`, { namespace: 'default', platform: 'linux/arm64' });
      expect(arm.target.digest).toBe(indexDigest);
      expect(arm.platform.architecture).toBe('arm64');
      // Only one platform is here now: pushing the index would publish an incomplete image.
      const err = await rejection(push(fresh, `${reg.host}/multi/img:all`, `${reg.host}/multi/partial:1`, { namespace: 'default' }));
      expect(err.message).toMatch(/cannot push .*: 1 blob\(s\) it refers to are not in the local store: sha256:[0-9a-f]{64} \(linux\/amd64\)/);
      expect(statusCodeOf(err)).toBe('FAILED_PRECONDITION');
    } finally {
      fresh.close();
    }
  });
});

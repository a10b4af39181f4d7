import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { mountsUnder } from '@berth/mount';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheKey, cachedBuild } from '../src/cache.js';
import { aptMirrorFor } from '../src/images/apt-mirror.js';
import { IFNAMSIZ_MAX, uniqueName } from '../src/names.js';
import { freePort } from '../src/ports.js';
import { requireBinary } from '../src/process.js';
import { makeStateRoot } from '../src/state-root.js';
import { tempDirs } from './helpers.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

describe('makeStateRoot', () => {
  it('makes fresh dirs and cleanup unmounts what a test left mounted, then removes them', async () => {
    const a = await makeStateRoot('tk');
    const b = await makeStateRoot('tk');
    expect(a.root).not.toBe(b.root);
    expect(a.runtimeDir.length).toBeLessThan(40);
    const mnt = join(a.root, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]);
    writeFileSync(join(mnt, 'x'), 'x');
    expect(await mountsUnder(a.root)).toEqual([mnt]);
    await a.cleanup();
    await b.cleanup();
    expect(await mountsUnder(a.root)).toEqual([]);
    expect(existsSync(a.root) || existsSync(a.runtimeDir) || existsSync(b.root)).toBe(false);
    await a.cleanup();
  });
});

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((r) => server.close(r));
    expect(port).toBeGreaterThan(0);
  });
});

describe('uniqueName', () => {
  it('fits IFNAMSIZ, keeps the prefix when it can, and differs each call', () => {
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = uniqueName('berth-test-bridge');
      expect(n.length).toBeLessThanOrEqual(IFNAMSIZ_MAX);
      expect(n).toMatch(/^berth-te-[a-z0-9]{6}$/);
      names.add(n);
    }
    expect(names.size).toBe(200);
    expect(uniqueName('br')).toMatch(/^br-[a-z0-9]{6}$/);
    expect(uniqueName('ns', 40)).toMatch(/^ns-[a-z0-9]{6}$/);
    expect(() => uniqueName('bad/name')).toThrow(/prefix/);
    expect(() => uniqueName('x', 3)).toThrow(/maxLen/);
  });
});

describe('requireBinary', () => {
  it('names the missing binary', () => {
    expect(() => requireBinary('berth-no-such-binary', 'apt-get install nothing')).toThrow(
      /required binary "berth-no-such-binary" was not found on PATH \(apt-get install nothing\)/,
    );
    expect(requireBinary('skopeo')).toMatch(/\/skopeo$/);
  });
});

describe('aptMirrorFor', () => {
  it('reads deb822 and one-line sources, and says which files it read when the suite is missing', async () => {
    const etc = await tmp.make('etc-apt');
    mkdirSync(join(etc, 'sources.list.d'));
    writeFileSync(
      join(etc, 'sources.list.d/debian.sources'),
      [
        'Types: deb',
        '# comment',
        'URIs: http://mirror.example/debian-security',
        'Suites: bookworm-security',
        '',
        'Types: deb deb-src',
        'URIs: http://mirror.example/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        '',
      ].join('\n'),
    );
    expect(aptMirrorFor('bookworm', etc)).toBe('http://mirror.example/debian');
    const etc2 = await tmp.make('etc-apt2');
    writeFileSync(join(etc2, 'sources.list'), 'deb [arch=amd64] http://other.example/debian trixie main\n');
    expect(aptMirrorFor('trixie', etc2)).toBe('http://other.example/debian');
    expect(() => aptMirrorFor('sid', etc2)).toThrow(/no apt source for suite "sid" in .*sources\.list/);
    // this machine's own apt configuration names a mirror for bookworm
    expect(aptMirrorFor('bookworm')).toMatch(/^https?:\/\//);
  });
});

describe('cachedBuild', () => {
  it('keys by content regardless of key order, builds once under concurrency, and never exposes half an entry', async () => {
    const previous = process.env.BERTH_TEST_CACHE;
    process.env.BERTH_TEST_CACHE = await tmp.make('cache');
    try {
      expect(cacheKey({ a: 1, b: [1, 2] })).toBe(cacheKey({ b: [1, 2], a: 1 }));
      expect(cacheKey({ a: 1 })).not.toBe(cacheKey({ a: 2 }));
      let builds = 0;
      const build = async (dir: string): Promise<{ n: number }> => {
        builds++;
        await new Promise((r) => setTimeout(r, 300));
        writeFileSync(join(dir, 'payload'), 'done');
        return { n: builds };
      };
      const results = await Promise.all([1, 2, 3].map(() => cachedBuild('conc', { k: 1 }, build)));
      expect(builds).toBe(1);
      expect(results.filter((r) => r.built)).toHaveLength(1);
      expect(new Set(results.map((r) => r.dir)).size).toBe(1);
      expect(results.map((r) => r.value)).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }]);
      expect(existsSync(join(results[0]?.dir ?? '', 'payload'))).toBe(true);

      // a failed build leaves nothing behind, and the next call builds again
      await expect(
        cachedBuild('fail', { k: 1 }, async (dir) => {
          writeFileSync(join(dir, 'half'), 'x');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const again = await cachedBuild('fail', { k: 1 }, async () => ({ ok: true }));
      expect(again).toMatchObject({ built: true, value: { ok: true } });
    } finally {
      if (previous === undefined) delete process.env.BERTH_TEST_CACHE;
      else process.env.BERTH_TEST_CACHE = previous;
    }
  });

  it('waits for a lock held by another process', async () => {
    const previous = process.env.BERTH_TEST_CACHE;
    const root = await tmp.make('cache-lock');
    process.env.BERTH_TEST_CACHE = root;
    try {
      const id = `ext-${cacheKey({ k: 'ext' })}`;
      // another process holds the entry's lock for a while, and marks the end
      // of its work while still holding it (its exit, seen by this process,
      // may come after the lock is free: no order between the two)
      const done = join(root, 'holder-done');
      const holder = spawn('flock', ['--exclusive', join(root, `${id}.lock`), '-c', `echo held; sleep 1; touch '${done}'`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const holderExited = new Promise<void>((resolve) => holder.on('close', () => resolve()));
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const entry = await cachedBuild('ext', { k: 'ext' }, async () => ({ builtAfterHolder: existsSync(done) }));
      expect(entry.value).toEqual({ builtAfterHolder: true });
      await holderExited;
    } finally {
      if (previous === undefined) delete process.env.BERTH_TEST_CACHE;
      else process.env.BERTH_TEST_CACHE = previous;
    }
  });
});

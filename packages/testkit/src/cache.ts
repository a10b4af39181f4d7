// The shared build cache under /var/cache/berth-test (BERTH_TEST_CACHE): it
// outlives test runs on purpose (a debootstrap takes minutes). Entries are
// keyed by a hash of everything that determines their content, built in a
// temp dir and renamed into place only when complete, under an flock(1) lock
// so concurrent callers (other processes included) build once and the lock
// dies with its holder.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from './mounts.js';
import { requireBinary } from './process.js';

/** Bumped whenever a builder changes what it produces, so old cache entries are not reused. */
export const BUILDER_VERSION = 1;

export function testCacheRoot(): string {
  return process.env.BERTH_TEST_CACHE || '/var/cache/berth-test';
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A short stable hash of a JSON-able description (object key order does not matter). */
export function cacheKey(parts: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical({ builderVersion: BUILDER_VERSION, parts })))
    .digest('hex')
    .slice(0, 32);
}

/** Holds an exclusive flock on path until release() (or until this process dies). */
async function lockFile(path: string): Promise<() => Promise<void>> {
  const flock = requireBinary('flock', 'util-linux');
  const child = spawn(flock, ['--exclusive', path, '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('locked')) resolve();
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new Error(`could not run ${flock}: ${e.message}`)));
    child.on('close', (code) => reject(new Error(`${flock} on ${path} exited with status ${code}: ${err.trim()}`)));
  });
  return async () => {
    child.stdin.end();
    await closed;
  };
}

const MARKER = '.complete.json';

export interface CacheEntry<T> {
  dir: string;
  value: T;
  /** True when this call built the entry, false when it was already there. */
  built: boolean;
}

/**
 * Returns the cache entry `<root>/<name>-<cacheKey(keyParts)>`, building it
 * with build(tmpDir) first if absent. build fills tmpDir and returns a
 * JSON-able value that later calls get back without building.
 */
export async function cachedBuild<T>(
  name: string,
  keyParts: unknown,
  build: (tmpDir: string) => Promise<T>,
): Promise<CacheEntry<T>> {
  const root = testCacheRoot();
  const id = `${name}-${cacheKey(keyParts)}`;
  const dir = join(root, id);
  const marker = join(dir, MARKER);
  const read = async (built: boolean): Promise<CacheEntry<T>> => ({
    dir,
    value: JSON.parse(await readFile(marker, 'utf8')) as T,
    built,
  });
  if (existsSync(marker)) return read(false);

  await mkdir(root, { recursive: true });
  const release = await lockFile(join(root, `${id}.lock`));
  try {
    if (existsSync(marker)) return await read(false);
    // leftovers of an interrupted build of this entry (we hold its lock, so nobody is using them)
    for (const stale of readdirSync(root).filter((n) => n.startsWith(`.tmp-${id}-`))) {
      await removeTree(join(root, stale));
    }
    if (existsSync(dir)) await removeTree(dir); // present but incomplete
    const tmp = join(root, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    try {
      const value = await build(tmp);
      await writeFile(join(tmp, MARKER), JSON.stringify(value));
      await rename(tmp, dir);
      return { dir, value, built: true };
    } catch (err) {
      await removeTree(tmp).catch(() => undefined);
      throw err;
    }
  } finally {
    await release();
  }
}

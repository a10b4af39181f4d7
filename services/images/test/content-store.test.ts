import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentStore } from '../src/content/store.js';
import { ContentMismatchError } from '../src/content/writer.js';
import { openImagesDb } from '../src/db.js';
import { blobFiles, openTestCore, sha256, tempDir, type TestCore } from './helpers.js';

const data = Buffer.from('hello berth content store '.repeat(1000));
const digest = sha256(data);

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('content store', () => {
  let core: TestCore;
  afterEach(() => core?.close());

  it('writes, verifies and commits a blob; reads it whole and by range; labels and lists it', async () => {
    core = openTestCore();
    const w = await core.content.writer('ref-1', { expected: digest, total: data.length, labels: { a: '1' } });
    await w.write(data.subarray(0, 100));
    await w.write(data.subarray(100));
    const info = await w.commit();
    expect(info).toMatchObject({ digest, size: data.length, labels: { a: '1' } });
    expect(blobFiles(core)).toEqual([digest]);
    const path = core.content.blobPath(digest);
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(await readAll(core.content.readStream(digest))).toEqual(data);
    expect(await readAll(core.content.readStream(digest, { offset: 10, length: 5 }))).toEqual(data.subarray(10, 15));
    expect(() => core.content.readStream(digest, { offset: data.length + 1 })).toThrow(/outside/);
    expect(await core.content.statuses()).toEqual([]);

    core.content.updateLabels(digest, { b: '2' });
    expect(core.content.info(digest).labels).toEqual({ a: '1', b: '2' });
    core.content.updateLabels(digest, { a: '' });
    expect(core.content.info(digest).labels).toEqual({ b: '2' });
    expect(core.content.list(['labels.b==2']).map((i) => i.digest)).toEqual([digest]);
    expect(core.content.list(['labels.b==3'])).toEqual([]);
    expect(core.content.list(['labels.a'])).toEqual([]);

    core.content.delete(digest);
    expect(core.content.has(digest)).toBe(false);
    expect(blobFiles(core)).toEqual([]);
    expect(() => core.content.info(digest)).toThrow(/not found/);
  });

  it('resumes an ingest at its offset, re-hashing the bytes already on disk', async () => {
    core = openTestCore();
    const w1 = await core.content.writer('resume', { expected: digest, total: data.length });
    await w1.write(data.subarray(0, 5000));
    await w1.close();
    const [st] = await core.content.statuses();
    expect(st).toMatchObject({ ref: 'resume', offset: 5000, total: data.length, expected: digest, active: false });

    const w2 = await core.content.writer('resume', { expected: digest, total: data.length });
    expect(w2.offset).toBe(5000);
    await w2.write(data.subarray(5000));
    expect((await w2.commit()).digest).toBe(digest);
  });

  it('detects a corrupted prefix on resume: digest mismatch names both digests, the ingest is gone, no blob', async () => {
    core = openTestCore();
    const w1 = await core.content.writer('corrupt', { expected: digest, total: data.length });
    await w1.write(data.subarray(0, 5000));
    await w1.close();
    const dir = readdirSync(core.content.paths.ingestDir)[0]!;
    const dataFile = join(core.content.paths.ingestDir, dir, 'data');
    const bad = readFileSync(dataFile);
    bad[10] = bad[10]! ^ 0xff;
    writeFileSync(dataFile, bad);

    const w2 = await core.content.writer('corrupt', { expected: digest, total: data.length });
    await w2.write(data.subarray(5000));
    const err = await w2.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentMismatchError);
    expect((err as Error).message).toContain(`expected ${digest}`);
    expect((err as Error).message).toMatch(/got sha256:[0-9a-f]{64}/);
    expect(readdirSync(core.content.paths.ingestDir)).toEqual([]);
    expect(blobFiles(core)).toEqual([]);
    expect(core.content.list()).toEqual([]);
  });

  it('refuses more bytes than the expected total and a short commit, discarding the ingest', async () => {
    core = openTestCore();
    const w = await core.content.writer('too-long', { expected: digest, total: 10 });
    await expect(w.write(data.subarray(0, 11))).rejects.toThrow(/size mismatch: expected 10, got at least 11/);
    expect(readdirSync(core.content.paths.ingestDir)).toEqual([]);

    const w2 = await core.content.writer('too-short', { total: 10 });
    await w2.write(data.subarray(0, 4));
    await expect(w2.commit()).rejects.toThrow(/size mismatch: expected 10, got 4/);
    expect(readdirSync(core.content.paths.ingestDir)).toEqual([]);
    expect(blobFiles(core)).toEqual([]);
  });

  it('serialises writers of the same ref and treats a second write of the same digest as a no-op', async () => {
    core = openTestCore();
    const w1 = await core.content.writer('same', { expected: digest, total: data.length });
    let second = false;
    const p2 = core.content.writer('same', { expected: digest, total: data.length }).then((w) => {
      second = true;
      return w;
    });
    await w1.write(data.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    expect((await core.content.status('same')).active).toBe(true);
    await w1.write(data.subarray(10));
    await w1.commit();
    const w2 = await p2;
    expect(second).toBe(true);
    expect(w2.offset).toBe(0);
    await w2.write(data);
    const again = await w2.commit();
    expect(again.digest).toBe(digest);
    const third = await core.content.writeBytes('other-ref', data, { expected: digest });
    expect(third.digest).toBe(digest);
    expect(blobFiles(core)).toEqual([digest]);
    expect(core.content.list()).toHaveLength(1);
  });

  it('aborts an ingest and cleans up stale ones', async () => {
    core = openTestCore();
    const w = await core.content.writer('to-abort', { total: 100 });
    await w.write(data.subarray(0, 10));
    await w.close();
    await core.content.abort('to-abort');
    expect(await core.content.statuses()).toEqual([]);
    await expect(core.content.abort('to-abort')).rejects.toThrow(/no ingest/);

    const w2 = await core.content.writer('stale', { total: 100 });
    await w2.write(data.subarray(0, 10));
    await w2.close();
    expect(await core.content.cleanupStaleIngests(60_000)).toEqual([]);
    expect(await core.content.cleanupStaleIngests(0)).toEqual(['stale']);
    expect(readdirSync(core.content.paths.ingestDir)).toEqual([]);
  });

  it('reconciles records with blobs on disk when opened', async () => {
    core = openTestCore();
    await core.content.writeBytes('x', data);
    // A crash between rename and insert: the blob is there, the record not.
    core.db.prepare('DELETE FROM content').run();
    // A stray blob-dir file that is not a digest name.
    const alg = join(core.content.paths.blobsDir, 'sha256');
    writeFileSync(join(alg, 'not-a-digest'), 'x');
    const reopened = ContentStore.open(core.content.paths.root, core.db);
    expect(reopened.info(digest).size).toBe(data.length);
    expect(existsSync(join(alg, 'not-a-digest'))).toBe(false);
  });

  it('a process killed mid-write leaves only the ingest, which then resumes to a verified blob (or is cleaned)', async () => {
    const dir = tempDir();
    const dist = pathToFileURL(resolve(__dirname, '../dist/index.js')).href;
    if (!existsSync(new URL(dist))) throw new Error('services/images/dist is missing: run npm run build before the tests');
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const bigDigest = sha256(big);
    const payload = join(dir, 'payload');
    writeFileSync(payload, big);
    chmodSync(payload, 0o600);
    mkdirSync(join(dir, 'state'));
    const script = `
      import { ContentStore, openImagesDb } from ${JSON.stringify(dist)};
      import { readFileSync } from 'node:fs';
      const db = openImagesDb(${JSON.stringify(join(dir, 'state', 'images.db'))});
      const store = ContentStore.open(${JSON.stringify(join(dir, 'state', 'content'))}, db);
      const big = readFileSync(${JSON.stringify(payload)});
      const w = await store.writer('killed', { expected: ${JSON.stringify(bigDigest)}, total: big.length });
      await w.write(big.subarray(0, 1024 * 1024));
      await w.write(big.subarray(1024 * 1024, 1536 * 1024));
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('written') && res());
      child.on('exit', (code) => rej(new Error(`child exited ${code}: ${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const db = openImagesDb(join(dir, 'state', 'images.db'));
    try {
      const store = ContentStore.open(join(dir, 'state', 'content'), db);
      expect(store.list()).toEqual([]);
      expect(existsSync(join(dir, 'state', 'content', 'blobs', 'sha256'))).toBe(false);
      const [st] = await store.statuses();
      expect(st).toMatchObject({ ref: 'killed', offset: 1536 * 1024, total: big.length, active: false });

      const w = await store.writer('killed', { expected: bigDigest, total: big.length });
      expect(w.offset).toBe(1536 * 1024);
      await w.write(big.subarray(w.offset));
      expect((await w.commit()).digest).toBe(bigDigest);
      expect(readFileSync(store.blobPath(bigDigest)).equals(big)).toBe(true);

      // The other way out: a killed ingest is removed by the stale cleanup.
      const w2 = await store.writer('killed-2', { total: 10 });
      await w2.write(Buffer.from('abc'));
      await w2.close();
      expect(await store.cleanupStaleIngests(0)).toEqual(['killed-2']);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

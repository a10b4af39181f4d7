// Filling a new volume from a rootfs (Docker's copy-up): content, modes,
// ownership, times and symlinks as links; a link in the image that points out
// of the rootfs is resolved inside it, never on the host; a volume with
// content is left alone.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { copyUpVolume } from '../src/spec/copy-up.js';

const base = mkdtempSync('/tmp/berth-agent-copyup-');
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A rootfs with /data holding files, a subdirectory, links and odd modes/owners. */
function imageRootfs(name: string): string {
  const root = join(base, name);
  mkdirSync(join(root, 'data/sub'), { recursive: true });
  writeFileSync(join(root, 'data/hello.txt'), 'hello\n');
  chmodSync(join(root, 'data/hello.txt'), 0o640);
  chownSync(join(root, 'data/hello.txt'), 1000, 2000);
  writeFileSync(join(root, 'data/sub/run.sh'), '#!/bin/sh\n');
  chmodSync(join(root, 'data/sub/run.sh'), 0o4755);
  chmodSync(join(root, 'data/sub'), 0o700);
  chownSync(join(root, 'data/sub'), 33, 33);
  symlinkSync('hello.txt', join(root, 'data/rel-link'));
  symlinkSync('/etc/shadow', join(root, 'data/abs-link'));
  chmodSync(join(root, 'data'), 0o1777);
  chownSync(join(root, 'data'), 7, 8);
  utimesSync(join(root, 'data/hello.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  return root;
}

describe('copyUpVolume', () => {
  test('copies content with modes, owners, times and links kept as links', async () => {
    const root = imageRootfs('plain');
    const target = join(base, 'vol-plain/_data');
    const result = await copyUpVolume(root, '/data', target);
    expect(result).toEqual({ outcome: 'copied', entries: 5, skipped: [] });
    expect(readFileSync(join(target, 'hello.txt'), 'utf8')).toBe('hello\n');
    const hello = lstatSync(join(target, 'hello.txt'));
    expect([hello.mode & 0o7777, hello.uid, hello.gid]).toEqual([0o640, 1000, 2000]);
    expect(hello.mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    const sub = lstatSync(join(target, 'sub'));
    expect([sub.isDirectory(), sub.mode & 0o7777, sub.uid, sub.gid]).toEqual([true, 0o700, 33, 33]);
    expect(lstatSync(join(target, 'sub/run.sh')).mode & 0o7777).toBe(0o4755);
    expect(readlinkSync(join(target, 'rel-link'))).toBe('hello.txt');
    expect(readlinkSync(join(target, 'abs-link'))).toBe('/etc/shadow');
    // The volume's own directory takes the image directory's owner and mode.
    const top = lstatSync(target);
    expect([top.mode & 0o7777, top.uid, top.gid]).toEqual([0o1777, 7, 8]);
  });

  test('a mount path that is a link out of the rootfs is resolved inside it', async () => {
    const root = join(base, 'escape');
    mkdirSync(join(root, 'inside'), { recursive: true });
    writeFileSync(join(root, 'inside/marker'), 'inside\n');
    const host = join(base, 'host-secret');
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, 'secret'), 'host\n');
    // /data -> ../../../<host-secret>: on the host this would reach host-secret.
    symlinkSync(`../../../../../..${host}`, join(root, 'data'));
    const target = join(base, 'vol-escape/_data');
    const result = await copyUpVolume(root, '/data', target);
    // Inside the rootfs the link names <root><host>, which does not exist: nothing is copied.
    expect(result).toEqual({ outcome: 'no-source' });
    expect(readdirSync(target)).toEqual([]);

    // A link to an absolute path is taken relative to the rootfs too.
    symlinkSync('/inside', join(root, 'abs'));
    expect(await copyUpVolume(root, '/abs', target)).toMatchObject({ outcome: 'copied', entries: 1 });
    expect(readdirSync(target)).toEqual(['marker']);
    expect(existsSync(join(target, 'secret'))).toBe(false);
  });

  test('a volume with content, a missing path or a file path is left alone', async () => {
    const root = imageRootfs('alone');
    const target = join(base, 'vol-alone/_data');
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'mine'), 'keep\n');
    expect(await copyUpVolume(root, '/data', target)).toEqual({ outcome: 'volume-not-empty' });
    expect(readdirSync(target)).toEqual(['mine']);
    const empty = join(base, 'vol-empty/_data');
    expect(await copyUpVolume(root, '/nowhere', empty)).toEqual({ outcome: 'no-source' });
    expect(await copyUpVolume(root, '/data/hello.txt', empty)).toEqual({ outcome: 'source-not-directory' });
    expect(readdirSync(empty)).toEqual([]);
  });
});

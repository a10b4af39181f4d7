// Rootfs mounts with real overlay and bind mounts.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MountError } from '../src/errors.js';
import { compactOverlayOptions as shortenOverlayOptions, isMountPoint, mountAll, mountsAt, mountsUnder, unmountAll } from '@berth/mount';

const base = mkdtempSync('/tmp/berth-agent-mounts-');

afterAll(async () => {
  for (const mp of await mountsUnder(base)) await unmountAll(mp, { lazy: true }).catch(() => undefined);
  rmSync(base, { recursive: true, force: true });
});

function layer(name: string, files: Record<string, string>): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

describe('mountAll / unmountAll', () => {
  test('overlay: layers merge, writes go to upper; idempotent both ways', async () => {
    const lower1 = layer('l1', { a: 'from l1', b: 'from l1' });
    const lower2 = layer('l2', { b: 'from l2' });
    const upper = layer('upper', {});
    const work = layer('work', {});
    const target = join(base, 'ov/rootfs');
    const mounts = [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower2}:${lower1}`, `upperdir=${upper}`, `workdir=${work}`] }];
    await mountAll(mounts, target);
    expect(readFileSync(join(target, 'a'), 'utf8')).toBe('from l1');
    expect(readFileSync(join(target, 'b'), 'utf8')).toBe('from l2');
    writeFileSync(join(target, 'c'), 'new');
    expect(readFileSync(join(upper, 'c'), 'utf8')).toBe('new');
    await mountAll(mounts, target);
    expect(await mountsAt(target)).toHaveLength(1);
    await unmountAll(target);
    expect(await isMountPoint(target)).toBe(false);
    expect(existsSync(join(target, 'a'))).toBe(false);
    await unmountAll(target);
    await unmountAll(join(base, 'never-existed'));
  });

  test('bind, read-only', async () => {
    const src = layer('bindsrc', { f: 'x' });
    const target = join(base, 'bind/rootfs');
    await mountAll([{ type: 'bind', source: src, options: ['rbind', 'ro'] }], target);
    expect(readFileSync(join(target, 'f'), 'utf8')).toBe('x');
    expect(() => writeFileSync(join(target, 'g'), 'y')).toThrow(/EROFS|read-only/);
    await unmountAll(target);
    expect(await isMountPoint(target)).toBe(false);
  });

  test('a failed mount leaves nothing mounted and says what failed', async () => {
    const good = layer('good', { f: 'x' });
    const target = join(base, 'fail/rootfs');
    const err = await mountAll(
      [
        { type: 'bind', source: good, options: ['rbind'] },
        { type: 'overlay', source: 'overlay', options: ['lowerdir=/nonexistent/lower', `upperdir=${base}/u`, `workdir=${base}/w`] },
      ],
      target,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MountError);
    expect((err as Error).message).toContain('/nonexistent/lower');
    expect(await isMountPoint(target)).toBe(false);
    await expect(mountAll([{ type: 'bind', source: good, options: ['ro,rbind'] }], target)).rejects.toThrow(/without commas/);
    await expect(mountAll([{ type: '', source: good, options: [] }], target)).rejects.toThrow(/type is required/);
  });

  test('many layers: options longer than a page are shortened to relative paths', async () => {
    const layersDir = join(base, 'many/snapshots');
    const lowers: string[] = [];
    for (let i = 0; i < 60; i++) {
      const dir = join(layersDir, `a-rather-long-snapshot-directory-name-${String(i).padStart(3, '0')}`, 'fs');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `file-${i}`), String(i));
      lowers.push(dir);
    }
    const upper = join(layersDir, 'upper/fs');
    const work = join(layersDir, 'upper/work');
    mkdirSync(upper, { recursive: true });
    mkdirSync(work, { recursive: true });
    const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`];
    expect(options.join(',').length).toBeGreaterThan(4096);
    const short = shortenOverlayOptions(options);
    expect(short.cwd).toBe(layersDir);
    expect(short.options.join(',').length).toBeLessThan(4000);
    const target = join(base, 'many/rootfs');
    await mountAll([{ type: 'overlay', source: 'overlay', options }], target);
    expect(readFileSync(join(target, 'file-0'), 'utf8')).toBe('0');
    expect(readFileSync(join(target, 'file-59'), 'utf8')).toBe('59');
    await unmountAll(target);
  });
});

// Host facts read at start-up, and reading a rootfs file from snapshot mounts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listHostDevices } from '../src/host.js';
import { layerDirs, readRootfsFile } from '../src/rootfs-files.js';
import { tmp } from './fakes.js';

describe('listHostDevices', () => {
  it('reads major and minor numbers of /dev entries', () => {
    const devices = listHostDevices();
    expect(devices).toContainEqual(expect.objectContaining({ path: '/dev/null', type: 'c', major: 1, minor: 3 }));
    expect(devices).toContainEqual(expect.objectContaining({ path: '/dev/zero', type: 'c', major: 1, minor: 5 }));
  });
});

describe('readRootfsFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmp('berth-tasks-rootfs-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const layer = (name: string, files: Record<string, string>) => {
    const root = join(dir, name);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    mkdirSync(root, { recursive: true });
    return root;
  };

  it('reads through overlay layers top first, and a whiteout hides a lower file', async () => {
    const upper = layer('upper', { 'etc/group': 'upper-group\n' });
    const mid = layer('mid', { 'etc/passwd': 'mid-passwd\n' });
    const base = layer('base', { 'etc/passwd': 'base-passwd\n', 'etc/group': 'base-group\n', 'etc/shadow': 'x' });
    mkdirSync(join(upper, 'etc'), { recursive: true });
    // An overlayfs whiteout: a 0/0 character device (mknod needs root, which these tests run as).
    execFileSync('mknod', [join(upper, 'etc/shadow'), 'c', '0', '0']);
    const mounts = [{ type: 'overlay', source: 'overlay', target: '', options: [`workdir=${dir}/w`, `upperdir=${upper}`, `lowerdir=${mid}:${base}`] }];
    expect(layerDirs(mounts)).toEqual([upper, mid, base]);
    expect((await readRootfsFile(mounts, '/etc/passwd'))?.toString()).toBe('mid-passwd\n');
    expect((await readRootfsFile(mounts, '/etc/group'))?.toString()).toBe('upper-group\n');
    expect(await readRootfsFile(mounts, '/etc/shadow')).toBeUndefined();
    expect(await readRootfsFile(mounts, '/etc/missing')).toBeUndefined();
  });

  it('reads a bind-mounted rootfs and refuses mounts it cannot read', async () => {
    const root = layer('plain', { 'etc/passwd': 'p\n' });
    expect((await readRootfsFile([{ type: 'bind', source: root, target: '', options: ['rbind'] }], '/etc/passwd'))?.toString()).toBe('p\n');
    await expect(readRootfsFile([{ type: 'nfs', source: 'x', target: '', options: [] }], '/etc/passwd')).rejects.toThrow(/unsupported rootfs mounts/);
  });
});

// The pure half: mountinfo parsing, mount descriptions, overlay option compaction, mount(8) arguments.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MOUNT_DATA_LIMIT,
  MountError,
  compactOverlayOptions,
  destinationOf,
  mountArgs,
  mountPointsUnder,
  mountsAt,
  mountsUnder,
  overlayUsesUpper,
  parseMountInfo,
  parseMountInfoLine,
  validateMount,
} from '../src/index.js';

const TABLE = [
  '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
  '36 22 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '40 22 0:40 / /var/lib/berth/run/c1/rootfs rw,relatime - overlay overlay rw,lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work',
  '41 40 0:41 / /var/lib/berth/run/c1/rootfs/proc rw,nosuid - proc proc rw',
  '42 40 0:42 / /var/lib/berth/run/c1/rootfs rw - tmpfs tmpfs rw,size=64k',
  '43 22 0:43 / /var/lib/berth/run/c10 rw - overlay overlay rw,lowerdir=1/fs,upperdir=9/fs,workdir=9/work',
  '',
].join('\n');

describe('mountinfo', () => {
  it('parses each field, optional fields and \\ooo escapes included', () => {
    const t = parseMountInfo(TABLE);
    expect(t).toHaveLength(6);
    expect(t[1]).toEqual({
      id: 36,
      parentId: 22,
      device: '98:0',
      root: '/mnt1',
      mountPoint: '/mnt/with space',
      mountOptions: ['rw', 'noatime'],
      optionalFields: ['master:1'],
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
    expect(t[2]!.superOptions).toContain('lowerdir=/s/2/fs:/s/1/fs');
    expect(t[0]!.optionalFields).toEqual(['shared:1']);
    expect(parseMountInfoLine('garbage')).toBeUndefined();
    expect(parseMountInfoLine('1 2 3 - x')).toBeUndefined();
  });

  it('lists mount points below a directory once each, deepest first, not its name-prefixed siblings', () => {
    const t = parseMountInfo(TABLE);
    expect(mountPointsUnder(t, '/var/lib/berth/run/c1')).toEqual(['/var/lib/berth/run/c1/rootfs/proc', '/var/lib/berth/run/c1/rootfs']);
    expect(mountPointsUnder(t, '/var/lib/berth/run/c10')).toEqual(['/var/lib/berth/run/c10']);
    expect(mountPointsUnder(t, '/nothing')).toEqual([]);
    expect(mountPointsUnder(t, '/')[0]).toBe('/var/lib/berth/run/c1/rootfs/proc');
  });

  it('finds an overlay by its upper dir, absolute or mounted relative', () => {
    const t = parseMountInfo(TABLE);
    expect(overlayUsesUpper(t, '/s/3/fs')).toBe(true);
    expect(overlayUsesUpper(t, '/s/3/fs/')).toBe(true);
    expect(overlayUsesUpper(t, '/var/lib/snapshots/9/fs')).toBe(true);
    expect(overlayUsesUpper(t, '/s/2/fs')).toBe(false);
  });

  const dir = mkdtempSync(join(tmpdir(), 'berth-mountinfo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads another table when told (mountsAt, mountsUnder)', async () => {
    const path = join(dir, 'mountinfo');
    writeFileSync(path, TABLE);
    const at = await mountsAt('/var/lib/berth/run/c1/rootfs', { mountinfoPath: path });
    expect(at.map((m) => m.fsType)).toEqual(['overlay', 'tmpfs']);
    expect(await mountsUnder('/var/lib/berth/run', { mountinfoPath: path })).toEqual([
      '/var/lib/berth/run/c1/rootfs/proc',
      '/var/lib/berth/run/c1/rootfs',
      '/var/lib/berth/run/c10',
    ]);
  });
});

describe('mount descriptions', () => {
  it('refuses what mount(8) would misread', () => {
    const check = (m: unknown) => () => validateMount(m as never, 0, '/t');
    expect(check({ type: '', source: 's', options: [] })).toThrow('mounts[0] for /t: type is required');
    expect(check({ type: 'bind', source: '', options: [] })).toThrow('mounts[0] for /t: source is required');
    expect(check({ type: 'bind', source: '/s', options: ['ro,rbind'] })).toThrow('mounts[0] for /t: options must be strings without commas');
    expect(check({ type: 'bind', source: '/s', options: ['ro,rbind'] })).toThrow(MountError);
    expect(check({ type: 'bind', source: '/s', options: ['ro'] })).not.toThrow();
  });

  it('puts a mount with a target into that subdirectory', () => {
    expect(destinationOf({ type: 'tmpfs', source: 'tmpfs', options: [] }, '/t/')).toBe('/t');
    expect(destinationOf({ type: 'tmpfs', source: 'tmpfs', options: [], target: '/dev/shm' }, '/t')).toBe('/t/dev/shm');
    expect(destinationOf({ type: 'tmpfs', source: 'tmpfs', options: [], target: 'run' }, '/')).toBe('/run');
  });

  it('builds mount(8) arguments for overlay, bind and tmpfs mounts', () => {
    expect(mountArgs({ type: 'overlay', source: 'overlay', options: ['lowerdir=/a:/b'] }, '/t')).toEqual(['-t', 'overlay', '-o', 'lowerdir=/a:/b', '--', 'overlay', '/t']);
    expect(mountArgs({ type: 'bind', source: '/s', options: ['rbind', 'ro'] }, '/t')).toEqual(['-o', 'rbind,ro', '--', '/s', '/t']);
    expect(mountArgs({ type: 'bind', source: '/s', options: ['ro'] }, '/t')).toEqual(['-o', 'rbind,ro', '--', '/s', '/t']);
    expect(mountArgs({ type: 'ext4', source: '/s', options: ['bind'] }, '/t')).toEqual(['-o', 'bind', '--', '/s', '/t']);
    expect(mountArgs({ type: 'tmpfs', source: 'tmpfs', options: [] }, '/t')).toEqual(['-t', 'tmpfs', '--', 'tmpfs', '/t']);
  });
});

describe('overlay mount data', () => {
  it('keeps short overlay options as they are', () => {
    const opts = ['workdir=/s/1/work', 'upperdir=/s/1/fs', 'lowerdir=/s/2/fs:/s/3/fs'];
    expect(compactOverlayOptions(opts)).toEqual({ options: opts });
  });

  it('makes a deep lowerdir chain relative to the common directory when it would not fit a page', () => {
    const base = '/var/lib/berth/snapshots/snapshots';
    const lowers = Array.from({ length: 120 }, (_, i) => `${base}/${1000 + i}/fs`);
    const opts = ['index=off', `workdir=${base}/9/work`, `upperdir=${base}/9/fs`, `lowerdir=${lowers.join(':')}`];
    expect(opts.join(',').length).toBeGreaterThan(MOUNT_DATA_LIMIT);
    const { options, cwd } = compactOverlayOptions(opts);
    expect(cwd).toBe(base);
    expect(options).toEqual(['index=off', 'workdir=9/work', 'upperdir=9/fs', `lowerdir=${lowers.map((l) => l.slice(base.length + 1)).join(':')}`]);
    expect(options.join(',').length).toBeLessThanOrEqual(MOUNT_DATA_LIMIT);
  });

  it('leaves relative paths alone and says so when even the relative form is too long', () => {
    const relativeLowers = Array.from({ length: 500 }, (_, i) => `x${i}/fs`);
    expect(compactOverlayOptions([`lowerdir=${relativeLowers.join(':')}`]).cwd).toBeUndefined();
    const lowers = Array.from({ length: 500 }, (_, i) => `/a/${'x'.repeat(20)}${i}/fs`);
    expect(() => compactOverlayOptions([`lowerdir=${lowers.join(':')}`])).toThrow(/even relative to \/a; the kernel takes at most 4095/);
  });
});

import { describe, expect, it } from 'vitest';
import { MOUNT_DATA_LIMIT, compactOverlayOptions, mountArgs } from '../src/mount.js';

describe('mount data', () => {
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
    expect(options[0]).toBe('index=off');
    expect(options[1]).toBe('workdir=9/work');
    expect(options[2]).toBe('upperdir=9/fs');
    expect(options[3]).toBe(`lowerdir=${lowers.map((l) => l.slice(base.length + 1)).join(':')}`);
    expect(options.join(',').length).toBeLessThanOrEqual(MOUNT_DATA_LIMIT);
  });

  it('says so when even the relative form is too long', () => {
    const lowers = Array.from({ length: 500 }, (_, i) => `/a/${'x'.repeat(20)}${i}/fs`);
    expect(() => compactOverlayOptions([`lowerdir=${lowers.join(':')}`])).toThrow(/even relative to \/a; the kernel takes at most 4095/);
  });

  it('builds mount(8) arguments for overlay and bind mounts', () => {
    expect(mountArgs({ type: 'overlay', source: 'overlay', options: ['lowerdir=/a:/b'] }, '/t')).toEqual(['-t', 'overlay', '-o', 'lowerdir=/a:/b', '--', 'overlay', '/t']);
    expect(mountArgs({ type: 'bind', source: '/s', options: ['rbind', 'ro'] }, '/t')).toEqual(['-o', 'rbind,ro', '--', '/s', '/t']);
    expect(mountArgs({ type: 'bind', source: '/s', options: ['ro'] }, '/t')).toEqual(['-o', 'rbind,ro', '--', '/s', '/t']);
  });
});

// A small runnable image from Debian's busybox-static: /bin/busybox, one
// symlink per applet, users and groups for user-resolution tests.
import { execFileSync } from 'node:child_process';
import type { BuiltImage, ImageConfigSpec } from '../image.js';
import type { LayerEntry } from '../layer-entries.js';
import type { Compression, MediaTypeFamily } from '../media-types.js';
import { requireBinary } from '../process.js';
import { buildImageCached } from './cached-image.js';

export const BUSYBOX_BINARY = '/bin/busybox';

export const BUSYBOX_PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');

/** `users` (100) lists app as a member, for supplementary-group tests. */
export const BUSYBOX_GROUP = ['root:x:0:', 'users:x:100:app', 'app:x:1000:', 'nogroup:x:65534:', ''].join('\n');

export const BUSYBOX_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** Applet names of the host's busybox-static (`busybox --list`), busybox itself excluded. */
export function busyboxApplets(): string[] {
  const busybox = requireBinary(BUSYBOX_BINARY, 'apt-get install busybox-static');
  return execFileSync(busybox, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'busybox')
    .sort();
}

/**
 * The busybox root filesystem as one layer's entries: /bin/busybox and an
 * applet symlink per applet in /bin (relative, → busybox), /etc/passwd and
 * /etc/group (root; app 1000:1000 with home /home/app; nobody/nogroup
 * 65534), /tmp 1777, /root 0700, empty /dev /proc /sys /var, no
 * /etc/hostname, /etc/hosts or /etc/resolv.conf.
 */
export function busyboxLayerEntries(): LayerEntry[] {
  const busybox = requireBinary(BUSYBOX_BINARY, 'apt-get install busybox-static');
  const entries: LayerEntry[] = [
    { type: 'dir', path: '/bin' },
    { type: 'file', path: '/bin/busybox', source: busybox, mode: 0o755 },
    { type: 'dir', path: '/dev' },
    { type: 'dir', path: '/etc' },
    { type: 'file', path: '/etc/passwd', content: BUSYBOX_PASSWD },
    { type: 'file', path: '/etc/group', content: BUSYBOX_GROUP },
    { type: 'dir', path: '/home' },
    { type: 'dir', path: '/home/app', mode: 0o755, uid: 1000, gid: 1000 },
    { type: 'dir', path: '/proc', mode: 0o555 },
    { type: 'dir', path: '/root', mode: 0o700 },
    { type: 'dir', path: '/sys', mode: 0o555 },
    { type: 'dir', path: '/tmp', mode: 0o1777 },
    { type: 'dir', path: '/usr' },
    { type: 'dir', path: '/usr/bin' },
    { type: 'dir', path: '/usr/sbin' },
    { type: 'dir', path: '/var' },
  ];
  for (const applet of busyboxApplets()) {
    entries.push({ type: 'symlink', path: `/bin/${applet}`, target: 'busybox' });
  }
  return entries;
}

export interface TestImageOptions {
  /** Default 'oci'. */
  mediaTypes?: MediaTypeFamily;
  /** Default 'gzip'. */
  compression?: Compression;
  /** Name in index.json; default 'latest'. */
  refName?: string;
}

export const BUSYBOX_CONFIG: ImageConfigSpec = { env: BUSYBOX_ENV, cmd: ['sh'] };

/** The busybox image (one layer, CMD ["sh"]) in the shared cache. */
export function busyboxImage(opts: TestImageOptions = {}): Promise<BuiltImage> {
  return buildImageCached(
    {
      layers: [busyboxLayerEntries()],
      config: BUSYBOX_CONFIG,
      mediaTypes: opts.mediaTypes ?? 'oci',
      compression: opts.compression ?? 'gzip',
      refName: opts.refName ?? 'latest',
    },
    'busybox',
  );
}

// The mounts of a container: Docker's standard filesystems plus the user's
// bind, volume and tmpfs mounts, in an order where parents come first.
import { normalize } from 'node:path';
import type { types } from '@berth/api';
import type { OciMount } from './oci.js';

const PROPAGATION = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

/** Docker's standard mounts for /proc, /dev, /dev/pts, /sys, cgroups, mqueue and /dev/shm. */
export function standardMounts(opts: { shmSizeBytes: number; privileged: boolean }): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', opts.privileged ? 'rw' : 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: [opts.privileged ? 'rw' : 'ro', 'nosuid', 'noexec', 'nodev', 'relatime'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${opts.shmSizeBytes}`],
    },
  ];
}

/** Bind mount options: rbind (or bind) with rprivate propagation unless given, "ro" when asked. */
function bindOptions(options: readonly string[]): string[] {
  const recursive = options.includes('bind') ? 'bind' : 'rbind';
  const propagation = options.find((o) => PROPAGATION.includes(o)) ?? 'rprivate';
  const rest = options.filter((o) => !['bind', 'rbind', 'rw', 'nocopy', ...PROPAGATION].includes(o));
  return [recursive, propagation, ...rest];
}

/** tmpfs options: Docker's "nosuid,nodev,noexec" defaults, each overridable by its opposite. */
function tmpfsOptions(options: readonly string[]): string[] {
  const opposite: Record<string, string> = { suid: 'nosuid', dev: 'nodev', exec: 'noexec' };
  const defaults = ['nosuid', 'nodev', 'noexec'].filter((d) => !options.some((o) => opposite[o] === d));
  return [...defaults, ...options.filter((o) => !(o in opposite))];
}

/**
 * A user mount as an OCI mount. `volumePath` gives the host directory of a
 * named volume (volumes are bind-mounted from there).
 */
export function userMount(m: types.Mount, volumePath: (name: string) => string): OciMount {
  switch (m.type) {
    case 'bind':
      return { destination: m.target, type: 'bind', source: m.source, options: bindOptions(m.options) };
    case 'volume':
      return { destination: m.target, type: 'bind', source: volumePath(m.source), options: bindOptions(m.options) };
    case 'tmpfs':
      return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(m.options) };
    default:
      throw new Error(`unsupported mount type ${JSON.stringify(m.type)} (validation should have refused it)`);
  }
}

const depth = (path: string) => normalize(path).split('/').filter(Boolean).length;
const isAtOrBelow = (path: string, parent: string) => {
  const p = normalize(path);
  const q = normalize(parent);
  return p === q || p.startsWith(q.endsWith('/') ? q : `${q}/`);
};

/**
 * The final mount list: standard mounts not shadowed by a user mount (a user
 * mount at or above a standard destination replaces it), then user mounts
 * sorted so that parents are mounted before their children.
 */
export function combineMounts(standard: readonly OciMount[], user: readonly OciMount[]): OciMount[] {
  const kept = standard.filter((s) => !user.some((u) => isAtOrBelow(s.destination, u.destination)));
  const sorted = [...user].sort((a, b) => depth(a.destination) - depth(b.destination));
  return [...kept, ...sorted];
}

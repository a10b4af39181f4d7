// The mounts of a container: Docker's standard filesystems plus the caller's
// bind and tmpfs mounts, ordered so that parents are mounted first.
import { posix } from 'node:path';
import { SpecError } from './errors.js';
import type { OciMount } from './types.js';

export const PROPAGATIONS: readonly string[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

export interface MountOption {
  /** "bind": a host path (a volume is a bind of its host directory); "tmpfs": a new tmpfs. */
  type: 'bind' | 'tmpfs';
  /** Absolute host path; binds only. */
  source?: string;
  /** Absolute path in the container, not "/". */
  target: string;
  /**
   * Docker's option words: "ro", "bind" (not recursive), a propagation
   * ("rslave"...), "nosuid"/"suid", "nodev"/"dev", "noexec"/"exec", and for
   * tmpfs "size=...", "mode=...".
   */
  options?: readonly string[];
}

/** Bind options: rbind (or bind) with rprivate propagation unless given; "rw" is the default and dropped. */
function bindOptions(options: readonly string[]): string[] {
  const recursive = options.includes('bind') ? 'bind' : 'rbind';
  const propagation = options.find((o) => PROPAGATIONS.includes(o)) ?? 'rprivate';
  const rest = options.filter((o) => !['bind', 'rbind', 'rw', 'nocopy', ...PROPAGATIONS].includes(o));
  return [recursive, propagation, ...rest];
}

/** tmpfs options: Docker's nosuid, nodev, noexec defaults, each undone by its opposite. */
function tmpfsOptions(options: readonly string[]): string[] {
  const opposite: Record<string, string> = { suid: 'nosuid', dev: 'nodev', exec: 'noexec' };
  const defaults = ['nosuid', 'nodev', 'noexec'].filter((d) => !options.some((o) => opposite[o] === d));
  return [...defaults, ...options.filter((o) => !(o in opposite))];
}

/** `path` normalised, without a trailing slash; SpecError unless absolute and NUL-free. */
export function absolutePath(path: unknown, field: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new SpecError(field, `must be an absolute path, got ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw new SpecError(field, 'must not contain NUL');
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

/** A caller's mount as an OCI mount; SpecError naming `field` when malformed. */
export function userMount(m: MountOption, field: string): OciMount {
  if (!m || typeof m !== 'object') throw new SpecError(field, 'must be an object');
  const destination = absolutePath(m.target, `${field}.target`);
  if (destination === '/') throw new SpecError(`${field}.target`, 'cannot mount over /');
  const options = m.options ?? [];
  switch (m.type) {
    case 'bind':
      return { destination, type: 'bind', source: absolutePath(m.source, `${field}.source`), options: bindOptions(options) };
    case 'tmpfs':
      return { destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(options) };
    default:
      throw new SpecError(`${field}.type`, `unknown mount type ${JSON.stringify((m as { type: unknown }).type)}: expected "bind" or "tmpfs"`);
  }
}

const depth = (path: string) => path.split('/').filter(Boolean).length;
const isAtOrBelow = (path: string, parent: string) => path === parent || path.startsWith(parent === '/' ? '/' : `${parent}/`);

/** The caller's mounts as OCI mounts, parents first; SpecError for a malformed or duplicate one. */
export function userMounts(mounts: readonly MountOption[]): OciMount[] {
  const seen = new Set<string>();
  const out = mounts.map((m, i) => {
    const mount = userMount(m, `mounts[${i}]`);
    if (seen.has(mount.destination)) throw new SpecError(`mounts[${i}].target`, `duplicate mount point ${mount.destination}`);
    seen.add(mount.destination);
    return mount;
  });
  // A stable sort: mounts at the same depth keep the caller's order.
  return out.sort((a, b) => depth(a.destination) - depth(b.destination));
}

/**
 * The final mount list: the standard mounts a user mount does not replace
 * (one at or above a standard destination does, e.g. /dev hides /dev/shm),
 * then the user mounts.
 */
export function combineMounts(standard: readonly OciMount[], user: readonly OciMount[]): OciMount[] {
  const kept = standard.filter((s) => !user.some((u) => isAtOrBelow(s.destination, u.destination)));
  return [...kept, ...user];
}

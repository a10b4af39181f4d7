/**
 * Mounts as data and their mount(8) arguments. Pure functions: checking a
 * mount's description, compacting overlay options that would not fit the
 * kernel's one page of mount data, and the argument list.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { MountError } from './errors.js';

/** A mount as data, like containerd's: overlay, bind, tmpfs, ... */
export interface Mount {
  /** Filesystem type: "overlay", "bind", "tmpfs", ... */
  type: string;
  source: string;
  /** Subdirectory of the mount point to mount on (unset: the mount point itself). */
  target?: string;
  /** mount -o options, e.g. ["lowerdir=/a:/b", "upperdir=/u", "workdir=/w"] or ["rbind", "ro"]. */
  options: string[];
}

/**
 * mount(2) copies its data argument into one page (4096 bytes with the
 * terminating NUL); a longer overlay option string is refused.
 */
export const MOUNT_DATA_LIMIT = 4095;

const BIND_OPTIONS = ['bind', 'rbind'];
const OVERLAY_PATH_OPTIONS = ['lowerdir', 'upperdir', 'workdir'];

export function isBind(m: Mount): boolean {
  return m.type === 'bind' || m.options.some((o) => BIND_OPTIONS.includes(o));
}

export function splitOption(o: string): [key: string, value: string | undefined] {
  const eq = o.indexOf('=');
  return eq < 0 ? [o, undefined] : [o.slice(0, eq), o.slice(eq + 1)];
}

/** Where mount `m` goes when the mounts are put onto `target`. */
export function destinationOf(m: Mount, target: string): string {
  const base = target.replace(/\/+$/, '') || '/';
  if (!m.target) return base;
  return `${base === '/' ? '' : base}/${m.target.replace(/^\/+/, '')}`;
}

/** Refuses a mount description mount(8) would misread: no type or source, or an option holding a comma. */
export function validateMount(m: Mount, i: number, target: string): void {
  const where = `mounts[${i}] for ${target}`;
  if (!m || typeof m.type !== 'string' || !m.type) throw new MountError(target, `${where}: type is required`);
  if (typeof m.source !== 'string' || !m.source) throw new MountError(target, `${where}: source is required`);
  if (!Array.isArray(m.options) || m.options.some((o) => typeof o !== 'string' || o.includes(','))) {
    throw new MountError(target, `${where}: options must be strings without commas`);
  }
  if (m.target !== undefined && typeof m.target !== 'string') throw new MountError(target, `${where}: target must be a string`);
}

/** The paths an overlay's options name (lowerdir entries, upperdir, workdir), as written. */
export function overlayPaths(options: readonly string[]): { option: string; path: string }[] {
  const out: { option: string; path: string }[] = [];
  for (const o of options) {
    const [k, v] = splitOption(o);
    if (v === undefined || !OVERLAY_PATH_OPTIONS.includes(k)) continue;
    for (const path of k === 'lowerdir' ? v.split(':') : [v]) out.push({ option: k, path });
  }
  return out;
}

function commonDir(paths: string[]): string {
  let parts = paths[0]!.split(sep);
  for (const p of paths.slice(1)) {
    const q = p.split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  const dir = parts.join(sep);
  return dir === '' ? sep : dir;
}

/**
 * Overlay options with their paths relative to their common directory when
 * the absolute form would not fit a page (deep layer chains), and the cwd to
 * run mount from (the kernel resolves relative paths against it).
 */
export function compactOverlayOptions(options: readonly string[]): { options: string[]; cwd?: string } {
  if (options.join(',').length <= MOUNT_DATA_LIMIT) return { options: [...options] };
  const paths = overlayPaths(options).map((p) => p.path);
  if (paths.length === 0 || !paths.every(isAbsolute)) return { options: [...options] };
  const cwd = commonDir(paths.map((p) => p.replace(/\/+$/, '')));
  const rel = (p: string) => relative(cwd, p) || '.';
  const out = options.map((o) => {
    const [k, v] = splitOption(o);
    if (v === undefined || !OVERLAY_PATH_OPTIONS.includes(k)) return o;
    return `${k}=${v.split(':').map(rel).join(':')}`;
  });
  const length = out.join(',').length;
  if (length > MOUNT_DATA_LIMIT) {
    throw new Error(`overlay mount options are ${length} bytes even relative to ${cwd}; the kernel takes at most ${MOUNT_DATA_LIMIT}`);
  }
  return { options: out, cwd };
}

/** Arguments for mount(8); bind mounts go through -o bind/rbind (rbind unless one is given), which also applies ro. */
export function mountArgs(m: Mount, dest: string): string[] {
  const opts = [...m.options];
  const bind = isBind(m);
  if (bind && !opts.some((o) => BIND_OPTIONS.includes(o))) opts.unshift('rbind');
  const args = bind ? [] : ['-t', m.type];
  if (opts.length > 0) args.push('-o', opts.join(','));
  args.push('--', m.source, dest);
  return args;
}

/** mount(2) flags of the options mount(8) turns into flags; set (or, negated, cleared). */
const FLAG_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  defaults: {},
  ro: { set: 0x1 },
  rw: { clear: 0x1 },
  nosuid: { set: 0x2 },
  suid: { clear: 0x2 },
  nodev: { set: 0x4 },
  dev: { clear: 0x4 },
  noexec: { set: 0x8 },
  exec: { clear: 0x8 },
  sync: { set: 0x10 },
  async: { clear: 0x10 },
  dirsync: { set: 0x80 },
  noatime: { set: 0x400 },
  atime: { clear: 0x400 },
  nodiratime: { set: 0x800 },
  diratime: { clear: 0x800 },
  relatime: { set: 1 << 21 },
  norelatime: { clear: 1 << 21 },
  strictatime: { set: 1 << 24 },
  nostrictatime: { clear: 1 << 24 },
  lazytime: { set: 1 << 25 },
  nolazytime: { clear: 1 << 25 },
  nosymfollow: { set: 0x100 },
  symfollow: { clear: 0x100 },
};

/** Options mount(8) acts on itself and never hands to the kernel (fstab's and helpers'). */
const USERSPACE_OPTION = /^(x-.*|comment=.*|nofail|_netdev|auto|noauto|users?|nouser|owner|group|helper=.*)$/;

/**
 * A (non-bind) mount's options as mount(2) takes them: the generic ones as
 * flags, the rest, comma-joined, as the file system's data — what mount(8)
 * does with them. Undefined when one is an option mount(8) handles itself
 * (x-*, nofail, ...): then mount(8) should do the mount.
 */
export function syscallArgs(options: readonly string[]): { flags: number; data: string } | undefined {
  if (options.some((o) => USERSPACE_OPTION.test(o))) return undefined;
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAG_OPTIONS[o];
    if (!f) data.push(o);
    else flags = (flags | (f.set ?? 0)) & ~(f.clear ?? 0);
  }
  return { flags, data: data.join(',') };
}

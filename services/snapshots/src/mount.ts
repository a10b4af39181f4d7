import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';

/** A mount as data, like containerd's: the caller (agent, apply, tests) performs it. */
export interface Mount {
  type: string;
  source: string;
  /** Subdirectory of the mount point (unset: the mount point itself). */
  target?: string;
  options: string[];
}

/**
 * mount(2) copies its data argument into one page; an overlay option string
 * longer than that is refused. Deep chains of absolute lowerdirs pass it
 * (120 × ~45 bytes), so such mounts are made from the common parent directory
 * with relative paths — the kernel resolves them against the caller's cwd.
 */
export const MOUNT_DATA_LIMIT = 4095;

const PATH_OPTIONS = ['lowerdir', 'upperdir', 'workdir'];

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
 * Rewrites overlay options with paths relative to their common directory when
 * the absolute form would not fit. Returns the cwd to mount from.
 */
export function compactOverlayOptions(options: readonly string[]): { options: string[]; cwd?: string } {
  if (options.join(',').length <= MOUNT_DATA_LIMIT) return { options: [...options] };
  const paths: string[] = [];
  for (const o of options) {
    const eq = o.indexOf('=');
    if (eq !== -1 && PATH_OPTIONS.includes(o.slice(0, eq))) paths.push(...o.slice(eq + 1).split(':'));
  }
  if (paths.length === 0 || !paths.every(isAbsolute)) return { options: [...options] };
  const cwd = commonDir(paths.map((p) => p.replace(/\/+$/, '')));
  const rel = (p: string) => relative(cwd, p) || '.';
  const out = options.map((o) => {
    const eq = o.indexOf('=');
    if (eq === -1 || !PATH_OPTIONS.includes(o.slice(0, eq))) return o;
    return `${o.slice(0, eq)}=${o.slice(eq + 1).split(':').map(rel).join(':')}`;
  });
  const length = out.join(',').length;
  if (length > MOUNT_DATA_LIMIT) {
    throw new Error(`overlay mount options are ${length} bytes even relative to ${cwd}; the kernel takes at most ${MOUNT_DATA_LIMIT}`);
  }
  return { options: out, cwd };
}

function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ENOENT' ? `${cmd} is not installed (util-linux)` : `${cmd}: ${err.message}`)),
    );
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ').slice(0, 300)} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** Argument list for the mount binary; bind mounts go through -o bind/rbind, which also applies ro. */
export function mountArgs(m: Mount, target: string): string[] {
  const isBind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
  const opts = [...m.options];
  if (isBind && !opts.includes('bind') && !opts.includes('rbind')) opts.unshift('rbind');
  const args = isBind ? [] : ['-t', m.type];
  if (opts.length > 0) args.push('-o', opts.join(','));
  args.push('--', m.source, target);
  return args;
}

/** Mounts each mount in order onto target (a mount's `target` is a subdirectory of it). */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  for (const m of mounts) {
    const dest = m.target ? `${target.replace(/\/+$/, '')}/${m.target.replace(/^\/+/, '')}` : target;
    if (m.type === 'overlay') {
      const { options, cwd } = compactOverlayOptions(m.options);
      await run('mount', mountArgs({ ...m, options }, dest), cwd);
    } else {
      await run('mount', mountArgs(m, dest));
    }
  }
}

/** Unmounts target; with `all`, every mount stacked on it. A target that is not mounted is an error. */
export async function unmount(target: string, opts: { all?: boolean } = {}): Promise<void> {
  await run('umount', ['--', target]);
  if (opts.all) while (isMountPoint(target)) await run('umount', ['--', target]);
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points of this process's mount namespace. */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountinfo(line.split(' ')[4] ?? ''));
}

export function isMountPoint(path: string): boolean {
  const p = path.replace(/\/+$/, '') || '/';
  return mountPoints().includes(p);
}

/**
 * Unmounts everything at or below `dir`, deepest first (test teardown,
 * crash leftovers). Lazy unmount as a last resort so a busy mount cannot
 * keep a state root alive.
 */
export async function unmountUnder(dir: string): Promise<string[]> {
  const root = dir.replace(/\/+$/, '');
  const done: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const deepest = mountPoints()
      .filter((p) => p === root || p.startsWith(`${root}/`))
      .sort((a, b) => b.length - a.length)[0];
    if (deepest === undefined) return done;
    try {
      await run('umount', ['--', deepest]);
    } catch {
      await run('umount', ['-l', '--', deepest]);
    }
    done.push(deepest);
  }
  throw new Error(`mounts under ${root} keep reappearing; gave up unmounting`);
}

/**
 * Whether an overlay mount of this process's namespace uses `upper` as its
 * upper dir. Options mounted with relative paths (see compactOverlayOptions)
 * are matched by suffix, which can only err towards "in use".
 */
export function overlayUpperInUse(upper: string): boolean {
  const want = upper.replace(/\/+$/, '');
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'overlay') continue;
    for (const opt of superOptions.split(',')) {
      if (!opt.startsWith('upperdir=')) continue;
      const value = unescapeMountinfo(opt.slice('upperdir='.length)).replace(/\/+$/, '');
      if (value === want || (!isAbsolute(value) && want.endsWith(`/${value}`))) return true;
    }
  }
  return false;
}

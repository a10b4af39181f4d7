// Mounting a container's root file system from the mounts the snapshots
// service hands out (overlay with lowerdir/upperdir/workdir, or a bind of a
// directory), and taking it down again. Both are idempotent: mounting a target
// that already carries exactly these mounts does nothing, and unmounting a
// target that is not mounted does nothing. Node has no mount(2), so this runs
// util-linux mount/umount.
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { runCommand, describeResult } from './command.js';
import { MountError, errnoCode } from './errors.js';

export interface MountSpec {
  /** File system type: "overlay", "bind", "tmpfs", ... */
  type: string;
  source: string;
  /** mount -o options, e.g. ["lowerdir=/a:/b", "upperdir=/u", "workdir=/w"] or ["rbind", "ro"]. */
  options: string[];
}

export interface MountTools {
  mountPath?: string;
  umountPath?: string;
  mountinfoPath?: string;
}

interface MountInfoEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left[4] === undefined || right[0] === undefined) continue;
    out.push({ mountPoint: unescape(left[4]), fsType: right[0], source: unescape(right[1] ?? '') });
  }
  return out;
}

async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return posix.resolve(path);
    throw err;
  }
}

/** The mounts stacked on `target`, bottom first. */
export async function mountsAt(target: string, tools: MountTools = {}): Promise<MountInfoEntry[]> {
  const path = await canonical(target);
  const info = parseMountInfo(await readFile(tools.mountinfoPath ?? '/proc/self/mountinfo', 'utf8'));
  return info.filter((e) => e.mountPoint === path);
}

/** Mount points at or below `dir` (deepest first), e.g. to refuse removing a tree that still has mounts. */
export async function mountsUnder(dir: string, tools: MountTools = {}): Promise<string[]> {
  const base = await canonical(dir);
  const info = parseMountInfo(await readFile(tools.mountinfoPath ?? '/proc/self/mountinfo', 'utf8'));
  return info
    .map((e) => e.mountPoint)
    .filter((p) => p === base || p.startsWith(`${base}/`))
    .sort((a, b) => b.length - a.length);
}

export async function isMountPoint(target: string, tools: MountTools = {}): Promise<boolean> {
  return (await mountsAt(target, tools)).length > 0;
}

const BIND_OPTIONS = new Set(['bind', 'rbind']);
// The kernel takes at most one page of mount data.
const MAX_MOUNT_DATA = 4000;

function isBind(m: MountSpec): boolean {
  return m.type === 'bind' || m.options.some((o) => BIND_OPTIONS.has(o));
}

function validate(m: MountSpec, i: number, target: string): void {
  const where = `mounts[${i}] for ${target}`;
  if (!m || typeof m.type !== 'string' || !m.type) throw new MountError(target, `${where}: type is required`);
  if (typeof m.source !== 'string' || !m.source) throw new MountError(target, `${where}: source is required`);
  if (!Array.isArray(m.options) || m.options.some((o) => typeof o !== 'string' || o.includes(','))) {
    throw new MountError(target, `${where}: options must be strings without commas`);
  }
}

/**
 * For overlays whose options exceed a page (many layers), rewrites the layer
 * paths relative to their common parent; mount then runs from that directory.
 */
export function shortenOverlayOptions(options: string[]): { options: string[]; cwd: string | undefined } {
  if (options.join(',').length <= MAX_MOUNT_DATA) return { options, cwd: undefined };
  const dirs: string[] = [];
  for (const o of options) {
    const [k, v] = splitOption(o);
    if (k === 'lowerdir') dirs.push(...v.split(':'));
    else if (k === 'upperdir' || k === 'workdir') dirs.push(v);
  }
  if (dirs.length === 0 || dirs.some((d) => !d.startsWith('/'))) return { options, cwd: undefined };
  let common = posix.dirname(dirs[0] as string);
  for (const d of dirs) {
    while (common !== '/' && !d.startsWith(`${common}/`)) common = posix.dirname(common);
  }
  if (common === '/') return { options, cwd: undefined };
  const rel = (p: string): string => posix.relative(common, p);
  const rewritten = options.map((o) => {
    const [k, v] = splitOption(o);
    if (k === 'lowerdir') return `lowerdir=${v.split(':').map(rel).join(':')}`;
    if (k === 'upperdir' || k === 'workdir') return `${k}=${rel(v)}`;
    return o;
  });
  return { options: rewritten, cwd: common };
}

function splitOption(o: string): [string, string] {
  const eq = o.indexOf('=');
  return eq < 0 ? [o, ''] : [o.slice(0, eq), o.slice(eq + 1)];
}

/**
 * Mounts `mounts` in order onto `target` (created if missing). If the target
 * already carries exactly that many mounts this is a no-op; a partial stack
 * (a crash mid-way) is taken down and rebuilt. On failure, whatever this call
 * mounted is unmounted again.
 */
export async function mountAll(mounts: readonly MountSpec[], target: string, tools: MountTools = {}): Promise<void> {
  mounts.forEach((m, i) => validate(m, i, target));
  await mkdir(target, { recursive: true });
  const existing = await mountsAt(target, tools);
  if (mounts.length > 0 && existing.length === mounts.length) return;
  if (existing.length > 0) await unmountAll(target, tools);
  try {
    for (const m of mounts) await mountOne(m, target, tools);
  } catch (err) {
    await unmountAll(target, tools).catch(() => undefined);
    throw err;
  }
}

/** mount(8) reports a missing overlay layer as "special device overlay does not exist"; say it plainly. */
async function checkSources(m: MountSpec, target: string): Promise<void> {
  const paths: Array<[string, string]> = [];
  if (isBind(m)) paths.push(['source', m.source]);
  if (m.type === 'overlay') {
    for (const o of m.options) {
      const [k, v] = splitOption(o);
      if (k === 'lowerdir') for (const d of v.split(':')) paths.push([k, d]);
      else if (k === 'upperdir' || k === 'workdir') paths.push([k, v]);
    }
  }
  for (const [what, path] of paths) {
    try {
      await stat(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new MountError(target, `cannot mount ${m.type} on ${target}: ${what} ${path} does not exist`);
      throw err;
    }
  }
}

async function mountOne(m: MountSpec, target: string, tools: MountTools): Promise<void> {
  await checkSources(m, target);
  const bind = isBind(m);
  let options = m.options;
  let cwd: string | undefined;
  if (m.type === 'overlay') ({ options, cwd } = shortenOverlayOptions(options));
  if (bind && !options.some((o) => BIND_OPTIONS.has(o))) options = ['rbind', ...options];
  const args = [...(bind ? [] : ['-t', m.type]), ...(options.length ? ['-o', options.join(',')] : []), m.source, target];
  const result = await runCommand(tools.mountPath ?? 'mount', args, cwd === undefined ? {} : { cwd });
  if (result.code !== 0) {
    const how = options.length ? ` -o ${options.join(',')}` : '';
    throw new MountError(target, `cannot mount ${m.type} ${m.source}${how} on ${target}: ${describeResult(result)}`);
  }
}

/** Unmounts everything stacked on `target`; a target that is not mounted (or missing) is fine. */
export async function unmountAll(target: string, tools: MountTools & { lazy?: boolean } = {}): Promise<void> {
  for (let guard = 0; guard < 64; guard++) {
    if (!(await isMountPoint(target, tools))) return;
    const result = await runCommand(tools.umountPath ?? 'umount', [...(tools.lazy ? ['-l'] : []), target]);
    if (result.code !== 0 && (await isMountPoint(target, tools))) {
      throw new MountError(target, `cannot unmount ${target}: ${describeResult(result)}`);
    }
  }
  throw new MountError(target, `cannot unmount ${target}: still mounted after 64 unmounts`);
}

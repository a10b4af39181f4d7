// Per-suite isolation for tests that run real containers: a temp state root,
// a private runc root inside it, a cgroup parent of its own, and a teardown
// that removes every container, monitor, mount and cgroup even after failures.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mountsUnder, unmountAll } from '@berth/mount';
import { buildSpec, readNofileHardLimit, type BuildSpecOptions, type ImageDefaults, type OciSpec } from '@berth/runtime-spec';
import type { Mount as MountSpec } from '@berth/mount';
import { makeBusyboxRootfs, requirePrerequisites } from './busybox.js';

export interface Suite {
  root: string;
  stateRoot: string;
  runcRoot: string;
  /** A busybox rootfs used as the lower layer of every container. */
  template: string;
  cgroupParent: string;
  /** A unique container id for this suite. */
  id(name: string): string;
  /** Overlay mounts over the busybox template, as the snapshots service would hand out. */
  overlayFor(id: string): MountSpec[];
  /** A spec for a busybox container in this suite's cgroup parent (opts.cmd is the command). */
  spec(id: string, opts?: Partial<BuildSpecOptions>, image?: ImageDefaults): OciSpec;
}

/** stateDir: the state root's name under the suite's root (the agent service uses "agent"). */
export function createSuite(name: string, opts: { stateDir?: string } = {}): Suite {
  requirePrerequisites();
  const tag = randomBytes(3).toString('hex');
  const root = mkdtempSync(`/tmp/berth-agent-${name}-`);
  const stateRoot = join(root, opts.stateDir ?? 'state');
  const template = join(root, 'template');
  mkdirSync(template);
  makeBusyboxRootfs(template);
  const cgroupParent = `/berth-test-${name}-${tag}`;
  return {
    root,
    stateRoot,
    runcRoot: join(stateRoot, 'runc'),
    template,
    cgroupParent,
    id: (n: string) => `${name}-${n}-${tag}`,
    overlayFor: (id: string) => {
      const dir = join(root, 'layers', id);
      mkdirSync(join(dir, 'upper'), { recursive: true });
      mkdirSync(join(dir, 'work'), { recursive: true });
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${template}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`] }];
    },
    spec: (id, opts = {}, image = {}) =>
      buildSpec(image, { id, cgroupsPath: `${cgroupParent}/${id}`, host: { nofileHardLimit: readNofileHardLimit() }, ...opts }),
  };
}

function tryRun(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function killMonitor(pidFile: string): void {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('conmon')) process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Removes everything the suite made; never throws. */
export async function destroySuite(suite: Suite): Promise<void> {
  const list = tryRun('/usr/sbin/runc', ['--root', suite.runcRoot, 'list', '-q']);
  for (const id of list.split('\n').filter(Boolean)) tryRun('/usr/sbin/runc', ['--root', suite.runcRoot, 'delete', '--force', id]);
  const containers = join(suite.stateRoot, 'containers');
  if (existsSync(containers)) {
    for (const id of readdirSync(containers)) {
      killMonitor(join(containers, id, 'conmon.pid'));
      const execs = join(containers, id, 'execs');
      if (existsSync(execs)) for (const e of readdirSync(execs)) killMonitor(join(execs, e, 'conmon.pid'));
    }
  }
  for (const mp of await mountsUnder(suite.root).catch(() => [] as string[])) {
    await unmountAll(mp).catch(() => unmountAll(mp, { lazy: true }).catch(() => undefined));
  }
  if ((await mountsUnder(suite.root).catch(() => [])).length === 0) rmSync(suite.root, { recursive: true, force: true });
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', hierarchy, suite.cgroupParent);
    removeCgroupTree(dir);
  }
}

function removeCgroupTree(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) return;
  } catch {
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // still in use: leave it rather than fail the teardown
  }
}

export function runcState(suite: Suite, id: string): string | undefined {
  const out = tryRun('/usr/sbin/runc', ['--root', suite.runcRoot, 'state', id]);
  return out ? (JSON.parse(out) as { status: string }).status : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Resolves when `check` holds, polling; fails after `timeoutMs` with `what`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

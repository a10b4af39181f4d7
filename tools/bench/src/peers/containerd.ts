// The comparison peer: Debian's containerd on a private root, state dir and
// socket, with nothing that reaches outside (no CRI, no /opt plugin, no
// debug or metrics listener), driven by its own client `ctr`. The shim is
// containerd-shim-runc-v2; runc keeps its state under our own --runc-root.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, requireBinary } from '@berth/testkit';
import { output, runCommand, sleep, type Command } from '../exec.js';
import { listProcesses, matchProcesses } from '../memory.js';
import { killAndWait, pidAlive } from '../processes.js';

/** Plugins that would listen, write or look outside the private root, or that a benchmark does not use. */
export const DISABLED_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.internal.v1.opt',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.tracing.processor.v1.otlp',
] as const;

/** Directories containerd-shim-runc-v2 creates outside any configured root, innermost first. */
const SHIM_SHARED_DIRS = ['/run/containerd/s', '/run/containerd'];

export interface ContainerdPaths {
  dir: string;
  root: string;
  state: string;
  address: string;
  runcRoot: string;
  fifoDir: string;
  config: string;
  log: string;
}

export function containerdPaths(dir: string): ContainerdPaths {
  return {
    dir,
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    address: join(dir, 'containerd.sock'),
    runcRoot: join(dir, 'runc'),
    fifoDir: join(dir, 'fifo'),
    config: join(dir, 'config.toml'),
    log: join(dir, 'containerd.log'),
  };
}

/** containerd's config (version 2 TOML) for a private instance. Pure. */
export function containerdConfig(p: ContainerdPaths): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'version = 2',
    `root = ${q(p.root)}`,
    `state = ${q(p.state)}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(q).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${q(p.address)}`,
    '',
    '[ttrpc]',
    `  address = ${q(`${p.address}.ttrpc`)}`,
    '',
    '[debug]',
    '  address = ""',
    '  level = "warn"',
    '',
    '[metrics]',
    '  address = ""',
    '',
  ].join('\n');
}

export interface ContainerdPeer {
  paths: ContainerdPaths;
  namespace: string;
  pid: number;
  /** `ctr --address <sock> --namespace <ns> …args` */
  ctr(...args: string[]): Command;
  /** Arguments of `ctr run` that keep the container's runc state and FIFOs private. */
  runArgs(): string[];
  /** Removes every container and task of the namespace, stops containerd and its shims, deletes the private dir. */
  stop(): Promise<void>;
}

/** Cgroup directories (v1 controllers and v2 root) that ctr's default cgroup path /<namespace>/<id> lands in. */
function cgroupDirsOf(namespace: string): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [join(base, namespace)];
  try {
    return readdirSync(base).map((c) => join(base, c, namespace));
  } catch {
    return [];
  }
}

export async function startContainerd(opts: { namespace: string; log: (msg: string) => void }): Promise<ContainerdPeer> {
  const containerd = requireBinary('containerd', 'apt-get install containerd');
  const ctrBin = requireBinary('ctr', 'apt-get install containerd');
  requireBinary('containerd-shim-runc-v2', 'apt-get install containerd');
  const runcBin = requireBinary('runc', 'apt-get install runc');
  const setpriv = requireBinary('setpriv', 'util-linux');

  const paths = containerdPaths(await mkdtemp(join(tmpdir(), 'berth-bench-containerd-')));
  for (const d of [paths.root, paths.state, paths.runcRoot, paths.fifoDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  writeFileSync(paths.config, containerdConfig(paths));
  const cgroupsBefore = new Set(cgroupDirsOf(opts.namespace).filter((d) => existsSync(d)));
  // The shim's socket dir is fixed in containerd 1.6 (/run/containerd/s); remove it after us if it was not there.
  const sharedDirsBefore = new Set(SHIM_SHARED_DIRS.filter((d) => existsSync(d)));

  const ctr = (...args: string[]): Command => ({ file: ctrBin, args: ['--address', paths.address, '--namespace', opts.namespace, ...args] });

  // Own process group (a Ctrl-C reaches us, not containerd, so cleanup can
  // still talk to it) but dies with us if we are killed (pdeathsig).
  const log = openSync(paths.log, 'a');
  const child = spawn(setpriv, ['--pdeathsig', 'KILL', '--', containerd, '--config', paths.config], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${containerd}`);
  const pid = child.pid;
  child.unref();

  const stop = async (): Promise<void> => {
    if (pidAlive(pid)) {
      const ids = (await output(ctr('containers', 'ls', '-q')).catch(() => '')).split('\n').filter(Boolean);
      const tasks = (await output(ctr('tasks', 'ls', '-q')).catch(() => '')).split('\n').filter(Boolean);
      if (tasks.length > 0) await output(ctr('tasks', 'rm', '-f', ...tasks)).catch(() => undefined);
      if (ids.length > 0) await output(ctr('containers', 'rm', ...ids)).catch(() => undefined);
      await killAndWait(pid, 10_000);
    }
    // Shims outlive containerd by design; ours are the ones pointed at our socket.
    for (const shim of matchProcesses(listProcesses(), 'containerd-shim-runc-v2', [paths.address])) {
      await killAndWait(shim.pid, 2_000);
    }
    for (const nsDir of existsSync(paths.runcRoot) ? readdirSync(paths.runcRoot) : []) {
      const root = join(paths.runcRoot, nsDir);
      const ids = (await output({ file: runcBin, args: ['--root', root, 'list', '-q'] }).catch(() => '')).split('\n').filter(Boolean);
      for (const id of ids) await runCommand({ file: runcBin, args: ['--root', root, 'delete', '-f', id] }).catch(() => undefined);
    }
    await removeTree(paths.dir);
    for (const d of SHIM_SHARED_DIRS) {
      if (sharedDirsBefore.has(d) || !existsSync(d)) continue;
      try {
        rmdirSync(d);
      } catch {
        opts.log(`left ${d} in place: not empty`);
      }
    }
    for (const d of cgroupDirsOf(opts.namespace)) {
      if (cgroupsBefore.has(d) || !existsSync(d)) continue;
      try {
        rmdirSync(d); // only succeeds when empty
      } catch {
        opts.log(`left cgroup ${d} in place: not empty`);
      }
    }
  };

  const until = Date.now() + 30_000;
  let lastError = '';
  for (;;) {
    if (!pidAlive(pid)) {
      await stop().catch(() => undefined);
      throw new Error(`containerd exited during start-up; see its log ${paths.log} (removed) — last ctr error: ${lastError}`);
    }
    try {
      await runCommand({ file: ctrBin, args: ['--address', paths.address, 'version'] }, 5_000);
      break;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > until) {
      await stop().catch(() => undefined);
      throw new Error(`containerd did not answer on ${paths.address} within 30 s: ${lastError}`);
    }
    await sleep(100);
  }
  opts.log(`containerd ${pid} on ${paths.address}`);

  return {
    paths,
    namespace: opts.namespace,
    pid,
    ctr,
    runArgs: () => ['--runc-root', paths.runcRoot, '--fifo-dir', paths.fifoDir],
    stop,
  };
}

// buildSpec: the OCI runtime spec for a container, from its image's config and
// the user's options, with Docker's defaults and Docker's override rules.
// Pure: everything it needs from the disk (the resolved user, the host's
// devices for a privileged container) comes in as options.
import { posix } from 'node:path';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_CGROUP_PARENT,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NOFILE,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  STOP_SIGNAL_ANNOTATION,
  defaultDeviceRules,
  defaultMounts,
} from './defaults.js';
import { SpecError } from './errors.js';
import { signalName, signalNumber } from './signals.js';
import type { ResolvedUser } from './user.js';
import type { RuntimeSpec, SpecDevice, SpecMount, SpecNamespace, SpecResources } from './types.js';

/** The runtime part of an image config ("config"); Docker's nulls are accepted. */
export interface ImageDefaults {
  User?: string | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string | null;
  StopSignal?: string | null;
  Labels?: Record<string, string> | null;
}

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

export type MountOption =
  /** A host path (`-v /host:/ctr[:ro]`, `--mount type=bind`). */
  | { type: 'bind'; source: string; target: string; readonly?: boolean; propagation?: Propagation; recursive?: boolean }
  /** A volume, given as the host directory that backs it; mounted like a bind. */
  | { type: 'volume'; source: string; target: string; readonly?: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number; readonly?: boolean };

export interface Ulimit {
  /** "nofile", "nproc", ... or "RLIMIT_NOFILE". */
  name: string;
  soft: number;
  hard: number;
}

export interface BuildSpecOptions {
  /** Container id: names the cgroup and the default hostname. */
  id: string;
  /** root.path, relative to the bundle; default "rootfs". */
  rootfsPath?: string;
  /** Replaces the image's Cmd. */
  args?: string[];
  /** Replaces the image's Entrypoint ([] clears it); the image's Cmd is then dropped unless args are given. */
  entrypoint?: string[];
  /** KEY=VALUE, overriding the image's by key. */
  env?: string[];
  cwd?: string;
  /**
   * The user, resolved with resolveUser (names need the rootfs). Without it
   * the image's User is used, which must then be numeric ("uid" or "uid:gid").
   */
  user?: ResolvedUser;
  hostname?: string;
  domainname?: string;
  tty?: boolean;
  readonlyRootfs?: boolean;
  /** Bytes; at least 6 MiB, like Docker. */
  memory?: number;
  memoryReservation?: number;
  /** Memory plus swap in bytes (Docker's --memory-swap); -1 for unlimited swap. */
  memorySwap?: number;
  /** CPUs as a fraction (1.5 = one and a half CPUs), turned into quota/period. */
  cpus?: number;
  cpuShares?: number;
  /** e.g. "0-1" or "0,2". */
  cpusetCpus?: string;
  /** Maximum number of processes; -1 or 0 for unlimited. */
  pidsLimit?: number;
  /** "NET_ADMIN", "CAP_NET_ADMIN" or "ALL". */
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  /** The host's devices (listHostDevices()), given to a privileged container. */
  hostDevices?: SpecDevice[];
  /** Extra devices (`--device`), with their numbers. */
  devices?: SpecDevice[];
  mounts?: MountOption[];
  /** /dev/shm size in bytes; default 64 MiB. */
  shmSize?: number;
  /** "none": a new namespace (the caller adds interfaces, or keeps only lo); a path: join it; "host": the host's. */
  network?: 'none' | 'host' | { path: string };
  /** A private cgroup namespace (Docker's default on cgroup v2). */
  cgroupNamespace?: boolean;
  /** Overrides the image's StopSignal. */
  stopSignal?: string;
  /** Parent of the container's cgroup; default /berth. */
  cgroupParent?: string;
  /**
   * Docker's --init: a tini-like binary on the host, bind-mounted read-only
   * at /sbin/berth-init and run as PID 1 in front of the command.
   */
  init?: { path: string };
  ulimits?: Ulimit[];
  sysctls?: Record<string, string>;
  annotations?: Record<string, string>;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  /** The host's CPU count, to refuse `cpus` beyond it. */
  hostCpus?: number;
}

const INIT_PATH = '/sbin/berth-init';
const MIN_MEMORY = 6 * 1024 * 1024;
const CPU_PERIOD = 100_000;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Docker's: the id's first 12 characters, made a valid host name. */
export function defaultHostname(id: string): string {
  const name = id.slice(0, 12).replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return name || 'container';
}

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function requireAbsolute(path: string, field: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new SpecError(field, `must be an absolute path, got ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw new SpecError(field, 'must not contain NUL');
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

/** KEY=VALUE list merged Docker-style: later entries replace earlier ones with the same key, in place. */
export function mergeEnv(base: readonly string[], overrides: readonly string[], field = 'env'): string[] {
  const out = [...base];
  overrides.forEach((entry, i) => {
    const eq = typeof entry === 'string' ? entry.indexOf('=') : -1;
    if (eq <= 0) throw new SpecError(`${field}[${i}]`, `expected KEY=VALUE, got ${JSON.stringify(entry)}`);
    const key = entry.slice(0, eq);
    const at = out.findIndex((e) => e.startsWith(`${key}=`));
    if (at >= 0) out[at] = entry;
    else out.push(entry);
  });
  return out;
}

function hasEnv(env: readonly string[], key: string): boolean {
  return env.some((e) => e.startsWith(`${key}=`));
}

/** Docker's rule: an entrypoint override drops the image's Cmd unless a Cmd is given too. */
export function resolveArgs(image: ImageDefaults, opts: Pick<BuildSpecOptions, 'args' | 'entrypoint' | 'init'>): string[] {
  const entrypoint = opts.entrypoint ?? image.Entrypoint ?? [];
  const cmd = opts.args ?? (opts.entrypoint !== undefined ? [] : image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new SpecError('args', 'no command specified (the image has neither Entrypoint nor Cmd)');
  if (args.some((a) => typeof a !== 'string')) throw new SpecError('args', 'every argument must be a string');
  if (args[0] === '') throw new SpecError('args', 'the command must not be empty');
  return opts.init ? [INIT_PATH, '--', ...args] : args;
}

function normalizeCap(cap: string, field: string): string {
  if (typeof cap !== 'string') throw new SpecError(field, 'capabilities must be strings');
  const up = cap.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const name = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!ALL_CAPABILITIES.includes(name)) throw new SpecError(field, `unknown capability ${JSON.stringify(cap)}`);
  return name;
}

/**
 * Docker's capability arithmetic (moby TweakCapabilities): privileged gets all;
 * add ALL gives all but the drops; drop ALL gives exactly the adds; otherwise
 * the default set minus the drops plus the adds (an add beats a drop).
 */
export function resolveCapabilities(opts: Pick<BuildSpecOptions, 'capAdd' | 'capDrop' | 'privileged'>): string[] {
  if (opts.privileged) return [...ALL_CAPABILITIES];
  const add = (opts.capAdd ?? []).map((c, i) => normalizeCap(c, `capAdd[${i}]`));
  const drop = (opts.capDrop ?? []).map((c, i) => normalizeCap(c, `capDrop[${i}]`));
  let caps: string[];
  if (add.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return ALL_CAPABILITIES.filter((c) => caps.includes(c));
}

function parseNumericUser(user: string, field: string): ResolvedUser {
  if (user.trim() === '') return { uid: 0, gid: 0, additionalGids: [], home: '/root' };
  const m = /^(\d+)(?::(\d+))?$/.exec(user.trim());
  if (!m) {
    throw new SpecError(field, `user ${JSON.stringify(user)} is a name: resolve it against the rootfs with resolveUser() and pass options.user`);
  }
  const uid = Number(m[1]);
  const gid = Number(m[2] ?? 0);
  if (uid > 2 ** 31 - 1 || gid > 2 ** 31 - 1) throw new SpecError(field, `user ${JSON.stringify(user)} is out of range`);
  return { uid, gid, additionalGids: [], home: '/' };
}

function buildResources(opts: BuildSpecOptions): SpecResources {
  const resources: SpecResources = {
    devices: opts.privileged ? [{ allow: true, access: 'rwm' }] : defaultDeviceRules(),
  };
  for (const d of opts.devices ?? []) {
    resources.devices?.push({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' });
  }
  if (opts.memory !== undefined || opts.memoryReservation !== undefined || opts.memorySwap !== undefined) {
    const memory: NonNullable<SpecResources['memory']> = {};
    if (opts.memory !== undefined) {
      if (!isPositiveInt(opts.memory) || opts.memory < MIN_MEMORY) {
        throw new SpecError('memory', `must be at least 6 MiB (${MIN_MEMORY} bytes), got ${opts.memory}`);
      }
      memory.limit = opts.memory;
    }
    if (opts.memoryReservation !== undefined) {
      if (!isPositiveInt(opts.memoryReservation)) throw new SpecError('memoryReservation', `must be a positive byte count, got ${opts.memoryReservation}`);
      if (opts.memory !== undefined && opts.memoryReservation > opts.memory) {
        throw new SpecError('memoryReservation', 'must not exceed memory');
      }
      memory.reservation = opts.memoryReservation;
    }
    if (opts.memorySwap !== undefined) {
      if (opts.memory === undefined) throw new SpecError('memorySwap', 'needs memory to be set too');
      if (opts.memorySwap !== -1 && (!isPositiveInt(opts.memorySwap) || opts.memorySwap < opts.memory)) {
        throw new SpecError('memorySwap', `must be -1 or at least memory (${opts.memory}), got ${opts.memorySwap}`);
      }
      memory.swap = opts.memorySwap;
    }
    resources.memory = memory;
  }
  if (opts.cpus !== undefined || opts.cpuShares !== undefined || opts.cpusetCpus !== undefined) {
    const cpu: NonNullable<SpecResources['cpu']> = {};
    if (opts.cpus !== undefined) {
      if (typeof opts.cpus !== 'number' || !Number.isFinite(opts.cpus) || opts.cpus < 0.01) {
        throw new SpecError('cpus', `must be at least 0.01, got ${opts.cpus}`);
      }
      if (opts.hostCpus !== undefined && opts.cpus > opts.hostCpus) {
        throw new SpecError('cpus', `${opts.cpus} is more than the ${opts.hostCpus} CPUs of this host`);
      }
      cpu.period = CPU_PERIOD;
      cpu.quota = Math.round(opts.cpus * CPU_PERIOD);
    }
    if (opts.cpuShares !== undefined) {
      if (!Number.isInteger(opts.cpuShares) || opts.cpuShares < 2 || opts.cpuShares > 262144) {
        throw new SpecError('cpuShares', `must be an integer from 2 to 262144, got ${opts.cpuShares}`);
      }
      cpu.shares = opts.cpuShares;
    }
    if (opts.cpusetCpus !== undefined) {
      if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(opts.cpusetCpus)) {
        throw new SpecError('cpusetCpus', `expected a list like "0-1,3", got ${JSON.stringify(opts.cpusetCpus)}`);
      }
      cpu.cpus = opts.cpusetCpus;
    }
    resources.cpu = cpu;
  }
  if (opts.pidsLimit !== undefined) {
    if (!Number.isSafeInteger(opts.pidsLimit) || opts.pidsLimit < -1) {
      throw new SpecError('pidsLimit', `must be a positive integer, or -1/0 for unlimited, got ${opts.pidsLimit}`);
    }
    if (opts.pidsLimit > 0) resources.pids = { limit: opts.pidsLimit };
  }
  return resources;
}

const PROPAGATIONS = new Set<Propagation>(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

function buildUserMounts(mounts: MountOption[]): SpecMount[] {
  const seen = new Set<string>();
  const out = mounts.map((m, i): SpecMount => {
    const field = `mounts[${i}]`;
    if (!m || typeof m !== 'object') throw new SpecError(field, 'must be an object');
    const target = requireAbsolute(m.target, `${field}.target`);
    if (target === '/') throw new SpecError(`${field}.target`, 'cannot mount over /');
    if (seen.has(target)) throw new SpecError(`${field}.target`, `duplicate mount point ${target}`);
    seen.add(target);
    switch (m.type) {
      case 'bind':
      case 'volume': {
        const source = requireAbsolute(m.source, `${field}.source`);
        const propagation = m.type === 'bind' ? m.propagation ?? 'rprivate' : 'rprivate';
        if (!PROPAGATIONS.has(propagation)) throw new SpecError(`${field}.propagation`, `unknown propagation ${JSON.stringify(propagation)}`);
        const recursive = m.type === 'bind' ? m.recursive !== false : true;
        return {
          destination: target,
          type: 'bind',
          source,
          options: [recursive ? 'rbind' : 'bind', m.readonly ? 'ro' : 'rw', propagation],
        };
      }
      case 'tmpfs': {
        const options = ['nosuid', 'nodev', 'noexec'];
        if (m.sizeBytes !== undefined) {
          if (!isPositiveInt(m.sizeBytes)) throw new SpecError(`${field}.sizeBytes`, `must be a positive byte count, got ${m.sizeBytes}`);
          options.push(`size=${m.sizeBytes}`);
        }
        if (m.mode !== undefined) {
          if (!Number.isInteger(m.mode) || m.mode < 0 || m.mode > 0o7777) throw new SpecError(`${field}.mode`, 'must be a file mode (0..07777)');
          options.push(`mode=${m.mode.toString(8).padStart(4, '0')}`);
        }
        if (m.readonly) options.push('ro');
        return { destination: target, type: 'tmpfs', source: 'tmpfs', options };
      }
      default:
        throw new SpecError(`${field}.type`, `unknown mount type ${JSON.stringify((m as { type: unknown }).type)}`);
    }
  });
  // Parents before children, as Docker orders them.
  return out.sort((a, b) => a.destination.split('/').length - b.destination.split('/').length);
}

function buildNamespaces(opts: BuildSpecOptions): SpecNamespace[] {
  const ns: SpecNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'mount' }];
  const network = opts.network ?? 'none';
  if (network !== 'host') {
    ns.push({ type: 'uts' });
    if (network === 'none') ns.push({ type: 'network' });
    else if (typeof network === 'object' && typeof network.path === 'string') {
      ns.push({ type: 'network', path: requireAbsolute(network.path, 'network.path') });
    } else {
      throw new SpecError('network', `expected "none", "host" or { path }, got ${JSON.stringify(network)}`);
    }
  }
  if (opts.cgroupNamespace) ns.push({ type: 'cgroup' });
  return ns;
}

function buildRlimits(ulimits: Ulimit[] | undefined): Array<{ type: string; hard: number; soft: number }> {
  const limits = new Map<string, { soft: number; hard: number }>([['RLIMIT_NOFILE', { ...DEFAULT_NOFILE }]]);
  (ulimits ?? []).forEach((u, i) => {
    const field = `ulimits[${i}]`;
    const up = String(u.name).toUpperCase();
    const type = up.startsWith('RLIMIT_') ? up : `RLIMIT_${up}`;
    if (!/^RLIMIT_[A-Z]+$/.test(type)) throw new SpecError(`${field}.name`, `unknown limit ${JSON.stringify(u.name)}`);
    const ok = (n: number): boolean => Number.isSafeInteger(n) && n >= -1;
    if (!ok(u.soft) || !ok(u.hard)) throw new SpecError(field, 'soft and hard must be integers (-1 for unlimited)');
    const unl = (n: number): number => (n === -1 ? Number.MAX_SAFE_INTEGER : n);
    if (unl(u.soft) > unl(u.hard)) throw new SpecError(field, `soft limit ${u.soft} exceeds hard limit ${u.hard}`);
    limits.set(type, { soft: unl(u.soft), hard: unl(u.hard) });
  });
  return [...limits.entries()].map(([type, l]) => ({ type, hard: l.hard, soft: l.soft }));
}

export function buildSpec(image: ImageDefaults, opts: BuildSpecOptions): RuntimeSpec {
  if (!opts || typeof opts.id !== 'string' || !ID.test(opts.id)) {
    throw new SpecError('id', `invalid container id ${JSON.stringify(opts?.id)}`);
  }
  const privileged = opts.privileged === true;
  const network = opts.network ?? 'none';

  const args = resolveArgs(image, opts);
  const cwd = requireAbsolute(opts.cwd ?? (image.WorkingDir || '/'), opts.cwd !== undefined ? 'cwd' : 'image WorkingDir');
  const user = opts.user ?? parseNumericUser(image.User ?? '', 'image User');

  let hostname: string | undefined;
  if (network !== 'host') {
    hostname = opts.hostname ?? defaultHostname(opts.id);
    if (hostname.length > 253 || !HOSTNAME.test(hostname)) throw new SpecError('hostname', `invalid hostname ${JSON.stringify(hostname)}`);
  } else if (opts.hostname !== undefined) {
    throw new SpecError('hostname', 'cannot set a hostname with the host network (it shares the host UTS namespace)');
  }

  // Docker: PATH (if the image has none), HOSTNAME, TERM (tty), then image env, then user env.
  const imageEnv = mergeEnv([], image.Env ?? [], 'image Env');
  let env: string[] = [];
  if (!hasEnv(imageEnv, 'PATH')) env.push(DEFAULT_PATH_ENV);
  if (hostname !== undefined) env.push(`HOSTNAME=${hostname}`);
  if (opts.tty) env.push('TERM=xterm');
  env = mergeEnv(env, imageEnv, 'image Env');
  env = mergeEnv(env, opts.env ?? []);
  // Without a resolved user runc sets HOME itself, from the container's passwd.
  if (opts.user && !hasEnv(env, 'HOME')) env.push(`HOME=${opts.user.home || '/'}`);

  const shmSize = opts.shmSize ?? DEFAULT_SHM_SIZE;
  if (!isPositiveInt(shmSize)) throw new SpecError('shmSize', `must be a positive byte count, got ${opts.shmSize}`);

  const userMounts = buildUserMounts(opts.mounts ?? []);
  if (opts.init) {
    const source = requireAbsolute(opts.init.path, 'init.path');
    if (userMounts.some((m) => m.destination === INIT_PATH)) throw new SpecError('mounts', `${INIT_PATH} is reserved for init`);
    userMounts.push({ destination: INIT_PATH, type: 'bind', source, options: ['bind', 'ro', 'rprivate'] });
  }
  // A user mount replaces a default at the same place, and everything below it (e.g. /dev hides /dev/shm).
  const covered = (dest: string): boolean =>
    userMounts.some((u) => dest === u.destination || dest.startsWith(`${u.destination}/`));
  const mounts = [...defaultMounts({ shmSize, privileged }).filter((m) => !covered(m.destination)), ...userMounts];

  const caps = resolveCapabilities(opts);
  const stop = opts.stopSignal ?? image.StopSignal ?? undefined;
  const annotations: Record<string, string> = { ...(opts.annotations ?? {}) };
  if (stop !== undefined && stop !== '') {
    const n = signalNumber(stop);
    if (n === undefined) throw new SpecError(opts.stopSignal !== undefined ? 'stopSignal' : 'image StopSignal', `invalid signal ${JSON.stringify(stop)}`);
    annotations[STOP_SIGNAL_ANNOTATION] = signalName(n);
  }

  const cgroupParent = requireAbsolute(opts.cgroupParent ?? DEFAULT_CGROUP_PARENT, 'cgroupParent');
  const devices = privileged ? [...(opts.hostDevices ?? [])] : [];
  for (const [i, d] of (opts.devices ?? []).entries()) {
    requireAbsolute(d.path, `devices[${i}].path`);
    if (!Number.isInteger(d.major) || !Number.isInteger(d.minor)) throw new SpecError(`devices[${i}]`, 'major and minor are required');
    if (!devices.some((e) => e.path === d.path)) devices.push(d);
  }

  if (opts.oomScoreAdj !== undefined && (!Number.isInteger(opts.oomScoreAdj) || opts.oomScoreAdj < -1000 || opts.oomScoreAdj > 1000)) {
    throw new SpecError('oomScoreAdj', `must be an integer from -1000 to 1000, got ${opts.oomScoreAdj}`);
  }
  const sysctl = opts.sysctls ?? {};
  for (const [k, v] of Object.entries(sysctl)) {
    if (!/^[a-z0-9_.\-/]+$/i.test(k) || typeof v !== 'string') throw new SpecError(`sysctls.${k}`, 'invalid sysctl');
  }

  const spec: RuntimeSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: opts.tty === true,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: [...user.additionalGids] } : {}) },
      args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: buildRlimits(opts.ulimits),
      noNewPrivileges: opts.noNewPrivileges === true,
      ...(opts.oomScoreAdj !== undefined ? { oomScoreAdj: opts.oomScoreAdj } : {}),
    },
    root: { path: opts.rootfsPath ?? 'rootfs', readonly: opts.readonlyRootfs === true },
    ...(hostname !== undefined ? { hostname } : {}),
    ...(opts.domainname !== undefined ? { domainname: opts.domainname } : {}),
    mounts,
    annotations,
    linux: {
      namespaces: buildNamespaces(opts),
      cgroupsPath: posix.join(cgroupParent, opts.id),
      resources: buildResources(opts),
      ...(devices.length ? { devices } : {}),
      ...(Object.keys(sysctl).length ? { sysctl: { ...sysctl } } : {}),
      maskedPaths: privileged ? [] : [...DEFAULT_MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...DEFAULT_READONLY_PATHS],
    },
  };
  return spec;
}

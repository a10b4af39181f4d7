// buildSpec: a container's OCI runtime spec from its image's config and the
// caller's options, with Docker's defaults and override rules. Pure: every
// fact about the host comes in through the options. The user may be left
// unresolved (its names need the container's rootfs): process.user is then
// root until whoever mounts the rootfs applies resolveUser + withUser.
import { capabilitySet } from './capabilities.js';
import {
  DEFAULT_DEVICE_RULES,
  DEFAULT_NETWORK_SYSCTLS,
  DEFAULT_PATH,
  DEFAULT_SHM_BYTES,
  INIT_PATH_IN_CONTAINER,
  MASKED_PATHS,
  READONLY_PATHS,
  STOP_SIGNAL_ANNOTATION,
  defaultNofile,
  standardMounts,
} from './defaults.js';
import { checkEnv, mergeEnv } from './env.js';
import { SpecError } from './errors.js';
import { absolutePath, combineMounts, userMounts, type MountOption } from './mounts.js';
import { commandLine, type ImageDefaults } from './process.js';
import { linuxResources, type ResourceHostFacts, type ResourceLimits } from './resources.js';
import { signalName, signalNumber } from './signals.js';
import { OCI_VERSION, type OciDevice, type OciNamespace, type OciProcess, type OciRlimit, type OciSpec } from './types.js';
import { withUser, type ResolvedUser } from './user.js';

export interface Ulimit {
  /** "nofile", "nproc", ... or "RLIMIT_NOFILE". */
  name: string;
  /** -1 for unlimited. */
  soft: number;
  hard: number;
}

/** What the builder needs to know of the host that will run the container. */
export interface SpecHostFacts extends ResourceHostFacts {
  /** The node's hostname: a host-network container's hostname when none is given. */
  hostname?: string;
  /** Hard open-files limit of the process that runs runc (readNofileHardLimit). */
  nofileHardLimit?: number;
}

/** "private": a new network namespace (interfaces added later, or only lo); a path: join it; "host": the host's. */
export type NetworkOption = 'private' | 'host' | { path: string };

export interface BuildSpecOptions {
  /** Container id: the default hostname and cgroup name. */
  id: string;
  /** linux.cgroupsPath; default /berth/<id>. */
  cgroupsPath?: string;
  /** root.path, relative to the bundle; default "rootfs". */
  rootfsPath?: string;
  /** Replaces the image's Entrypoint ([] clears it); the image's Cmd is then dropped unless cmd is given. */
  entrypoint?: string[];
  /** Replaces the image's Cmd. */
  cmd?: string[];
  /** "KEY=VALUE" over the image's; a bare "KEY" removes it. */
  env?: string[];
  /** Working directory; default the image's, then "/". */
  cwd?: string;
  /** The resolved user (and HOME unless env sets it); unset: root, to be resolved against the rootfs later. */
  user?: ResolvedUser;
  /** Default: the id's first 12 characters, or with the host network the host's name. */
  hostname?: string;
  domainname?: string;
  tty?: boolean;
  readonlyRootfs?: boolean;
  resources?: ResourceLimits;
  /** "NET_ADMIN", "CAP_NET_ADMIN" or "ALL". */
  capAdd?: string[];
  capDrop?: string[];
  /** Every capability and device, no masked or read-only paths, writable /sys. */
  privileged?: boolean;
  /** Device nodes to create (`--device`, or a privileged container's host devices). */
  devices?: OciDevice[];
  mounts?: MountOption[];
  /** /dev/shm size in bytes; default 64 MiB. */
  shmSizeBytes?: number;
  /** Default "private". */
  network?: NetworkOption;
  /** A private cgroup namespace (Docker's default on cgroup v2). */
  cgroupNamespace?: boolean;
  /** Overrides the image's StopSignal; recorded (validated) as an annotation. */
  stopSignal?: string;
  /** Docker's --init: this host binary is bind-mounted read-only and runs as PID 1 in front of the command. */
  init?: { path: string };
  ulimits?: Ulimit[];
  sysctls?: Record<string, string>;
  annotations?: Record<string, string>;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  host?: SpecHostFacts;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Docker's default hostname: the id's first 12 characters, made a valid host name. */
export function defaultHostname(id: string): string {
  const name = id.slice(0, 12).replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return name || 'container';
}

function containerHostname(opts: BuildSpecOptions): string | undefined {
  if (opts.hostname) return opts.hostname;
  return opts.network === 'host' ? opts.host?.hostname : defaultHostname(opts.id);
}

function rlimits(opts: BuildSpecOptions): OciRlimit[] {
  const nofile = defaultNofile(opts.host?.nofileHardLimit);
  const limits = new Map<string, { soft: number; hard: number }>([['RLIMIT_NOFILE', { soft: nofile, hard: nofile }]]);
  (opts.ulimits ?? []).forEach((u, i) => {
    const field = `ulimits[${i}]`;
    const upper = String(u.name).toUpperCase();
    const type = upper.startsWith('RLIMIT_') ? upper : `RLIMIT_${upper}`;
    if (!/^RLIMIT_[A-Z]+$/.test(type)) throw new SpecError(`${field}.name`, `unknown limit ${JSON.stringify(u.name)}`);
    const ok = (n: number) => Number.isSafeInteger(n) && n >= -1;
    if (!ok(u.soft) || !ok(u.hard)) throw new SpecError(field, 'soft and hard must be integers (-1 for unlimited)');
    const value = (n: number) => (n === -1 ? Number.MAX_SAFE_INTEGER : n);
    if (value(u.soft) > value(u.hard)) throw new SpecError(field, `soft limit ${u.soft} exceeds hard limit ${u.hard}`);
    limits.set(type, { soft: value(u.soft), hard: value(u.hard) });
  });
  return [...limits].map(([type, l]) => ({ type, hard: l.hard, soft: l.soft }));
}

function buildProcess(image: ImageDefaults, opts: BuildSpecOptions, hostname: string | undefined): OciProcess {
  // The image's env is taken as the image has it; the caller's is checked.
  checkEnv(opts.env ?? [], 'env');
  // Docker's order: PATH, HOSTNAME, TERM, then the image's env, then the caller's.
  const base = [`PATH=${DEFAULT_PATH}`, ...(hostname ? [`HOSTNAME=${hostname}`] : []), ...(opts.tty ? ['TERM=xterm'] : [])];
  const env = mergeEnv(mergeEnv(base, image.Env ?? []), opts.env ?? []);
  let args = commandLine(image, opts);
  if (opts.init) args = [INIT_PATH_IN_CONTAINER, '--', ...args];
  const cwd = opts.cwd ? absolutePath(opts.cwd, 'cwd') : image.WorkingDir ? absolutePath(image.WorkingDir, 'image WorkingDir') : '/';
  const caps = capabilitySet(opts);
  if (opts.oomScoreAdj !== undefined && (!Number.isInteger(opts.oomScoreAdj) || opts.oomScoreAdj < -1000 || opts.oomScoreAdj > 1000)) {
    throw new SpecError('oomScoreAdj', `must be an integer from -1000 to 1000, got ${opts.oomScoreAdj}`);
  }
  const process: OciProcess = {
    terminal: opts.tty === true,
    user: { uid: 0, gid: 0 },
    args,
    env,
    cwd,
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    rlimits: rlimits(opts),
    noNewPrivileges: opts.noNewPrivileges === true,
    ...(opts.oomScoreAdj !== undefined ? { oomScoreAdj: opts.oomScoreAdj } : {}),
  };
  return opts.user ? withUser(process, opts.user) : process;
}

function buildMounts(opts: BuildSpecOptions): OciSpec['mounts'] {
  const shmSizeBytes = opts.shmSizeBytes || DEFAULT_SHM_BYTES;
  if (!Number.isSafeInteger(shmSizeBytes) || shmSizeBytes < 0) throw new SpecError('shmSizeBytes', `must be a positive byte count, got ${opts.shmSizeBytes}`);
  const user = userMounts(opts.mounts ?? []);
  if (opts.init) {
    if (user.some((m) => m.destination === INIT_PATH_IN_CONTAINER)) throw new SpecError('mounts', `${INIT_PATH_IN_CONTAINER} is reserved for init`);
    user.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: absolutePath(opts.init.path, 'init.path'), options: ['bind', 'ro', 'rprivate'] });
  }
  return combineMounts(standardMounts({ shmSizeBytes, privileged: opts.privileged === true }), user);
}

function namespaces(opts: BuildSpecOptions): OciNamespace[] {
  const out: OciNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  const network = opts.network ?? 'private';
  if (network === 'private') out.push({ type: 'network' });
  else if (typeof network === 'object' && network !== null) out.push({ type: 'network', path: absolutePath(network.path, 'network.path') });
  else if (network !== 'host') throw new SpecError('network', `expected "private", "host" or { path }, got ${JSON.stringify(network)}`);
  if (opts.cgroupNamespace) out.push({ type: 'cgroup' });
  return out;
}

function annotations(image: ImageDefaults, opts: BuildSpecOptions): Record<string, string> {
  const out = { ...opts.annotations };
  const stop = opts.stopSignal || image.StopSignal;
  if (stop) {
    const n = signalNumber(stop);
    if (n === undefined) throw new SpecError(opts.stopSignal ? 'stopSignal' : 'image StopSignal', `invalid signal ${JSON.stringify(stop)}`);
    out[STOP_SIGNAL_ANNOTATION] = signalName(n);
  }
  return out;
}

/** The runtime spec of a container; SpecError naming the option at fault. */
export function buildSpec(image: ImageDefaults, opts: BuildSpecOptions): OciSpec {
  if (!opts || typeof opts.id !== 'string' || !ID.test(opts.id)) throw new SpecError('id', `invalid container id ${JSON.stringify(opts?.id)}`);
  const privileged = opts.privileged === true;
  const hostNetwork = opts.network === 'host';
  const hostname = containerHostname(opts);
  const devices = opts.devices ?? [];
  devices.forEach((d, i) => {
    absolutePath(d.path, `devices[${i}].path`);
    if (!Number.isInteger(d.major) || !Number.isInteger(d.minor)) throw new SpecError(`devices[${i}]`, 'major and minor must be integers');
  });
  const deviceRules = privileged
    ? [{ allow: true, access: 'rwm' }]
    : [...DEFAULT_DEVICE_RULES.map((r) => ({ ...r })), ...devices.map((d) => ({ allow: true, type: d.type === 'b' ? ('b' as const) : ('c' as const), major: d.major, minor: d.minor, access: 'rwm' }))];
  const sysctl = { ...(hostNetwork ? {} : DEFAULT_NETWORK_SYSCTLS), ...opts.sysctls };
  for (const [key, value] of Object.entries(sysctl)) {
    if (!/^[a-z0-9_.\-/]+$/i.test(key) || typeof value !== 'string') throw new SpecError(`sysctls.${key}`, 'invalid sysctl');
  }
  const notes = annotations(image, opts);
  return {
    ociVersion: OCI_VERSION,
    process: buildProcess(image, opts, hostname),
    root: { path: opts.rootfsPath ?? 'rootfs', readonly: opts.readonlyRootfs === true },
    ...(hostname ? { hostname } : {}),
    ...(opts.domainname ? { domainname: opts.domainname } : {}),
    mounts: buildMounts(opts),
    linux: {
      namespaces: namespaces(opts),
      cgroupsPath: opts.cgroupsPath ? absolutePath(opts.cgroupsPath, 'cgroupsPath') : `/berth/${opts.id}`,
      resources: { devices: deviceRules, ...linuxResources(opts.resources, opts.host) },
      ...(devices.length > 0 ? { devices: devices.map((d) => ({ ...d })) } : {}),
      ...(privileged ? {} : { maskedPaths: [...MASKED_PATHS], readonlyPaths: [...READONLY_PATHS] }),
      ...(Object.keys(sysctl).length > 0 ? { sysctl } : {}),
    },
    ...(Object.keys(notes).length > 0 ? { annotations: notes } : {}),
  };
}

// Builds a container's OCI runtime spec from the image config and the user's
// options, with Docker's defaults; then adds what only exists once a task is
// set up (network namespace, /etc/hosts and friends). Pure: every host fact
// comes in through the inputs.
import type { ImageRuntimeConfig } from '@berth/oci';
import { tasks } from '@berth/api';
import { invalidArgument } from '../errors.js';
import { normalizeCapability } from '../validate.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_DEVICE_RULES, DEFAULT_NOFILE, DEFAULT_PATH, DEFAULT_SHM_BYTES, MASKED_PATHS, READONLY_PATHS } from './defaults.js';
import { hasEnv, mergeEnv } from './env.js';
import { combineMounts, standardMounts, userMount } from './mounts.js';
import { OCI_VERSION, type OciDevice, type OciMount, type OciNamespace, type OciProcess, type OciSpec } from './oci.js';
import { ociResources, type HostResourceFacts } from './resources.js';
import type { ResolvedUser } from './user.js';

/** Where the init binary (`--init`) appears inside the container, as Docker puts it. */
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

/** Annotations berth puts on every runtime spec it builds. */
export const ANNOTATIONS = {
  containerId: 'org.berth.container.id',
  containerName: 'org.berth.container.name',
  namespace: 'org.berth.namespace',
  image: 'org.berth.image',
} as const;

export interface SpecInputs {
  id: string;
  name: string;
  namespace: string;
  spec: tasks.ContainerSpec;
  /** Normalised image name (for the annotation). */
  imageName: string;
  /** The image config's runtime defaults ("config" object). */
  image: ImageRuntimeConfig;
  /** The resolved user (from spec.user, or the image's User). */
  user: ResolvedUser;
  /** The host's hostname, used with host networking when no hostname is given. */
  hostHostname: string;
  /** cgroups path for the container, e.g. "/berth/<id>". */
  cgroupsPath: string;
  host: HostResourceFacts;
  /** Host directory of a named volume. */
  volumePath(name: string): string;
  /** Host path of the init binary; needed only when spec.init is set. */
  initBinary?: string | undefined;
  /** Host devices to expose when privileged. */
  hostDevices?: OciDevice[];
}

/** The network mode of a spec: "host", "none", or "bridge" (default or user networks). */
export function networkMode(spec: tasks.ContainerSpec): 'host' | 'none' | 'bridge' {
  const only = spec.networks.length === 1 ? spec.networks[0]!.network : undefined;
  return only === 'host' || only === 'none' ? only : 'bridge';
}

/** The command line: entrypoint then cmd, with Docker's override rules; INVALID_ARGUMENT when empty. */
export function commandLine(spec: tasks.ContainerSpec, image: ImageRuntimeConfig): string[] {
  const entrypoint = spec.entrypoint !== undefined ? spec.entrypoint.args : (image.Entrypoint ?? []);
  // An overridden entrypoint drops the image's cmd, as Docker does.
  const cmd = spec.cmd !== undefined ? spec.cmd.args : spec.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw invalidArgument('no command specified: the image has no entrypoint or command and none was given');
  }
  return args;
}

/** The capability set (names with "CAP_") after privileged, cap_add and cap_drop. */
export function capabilitySet(spec: Pick<tasks.ContainerSpec, 'privileged' | 'capAdd' | 'capDrop'>): string[] {
  let caps: string[];
  if (spec.privileged) caps = [...ALL_CAPABILITIES];
  else {
    const add = spec.capAdd.map((c, i) => normalizeCapability(c, `cap_add[${i}]`));
    const drop = spec.capDrop.map((c, i) => normalizeCapability(c, `cap_drop[${i}]`));
    if (add.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c));
    else if (drop.includes('ALL')) caps = [...new Set(add)];
    else caps = [...new Set([...DEFAULT_CAPABILITIES, ...add])].filter((c) => !drop.includes(c));
  }
  return caps.map((c) => `CAP_${c}`);
}

/** The hostname the container gets. */
export function containerHostname(inputs: Pick<SpecInputs, 'id' | 'spec' | 'hostHostname'>): string {
  if (inputs.spec.hostname !== '') return inputs.spec.hostname;
  return networkMode(inputs.spec) === 'host' ? inputs.hostHostname : inputs.id.slice(0, 12);
}

function buildProcess(inputs: SpecInputs, hostname: string): OciProcess {
  const { spec, image, user } = inputs;
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`, ...(spec.tty ? ['TERM=xterm'] : [])];
  let env = mergeEnv(mergeEnv(base, image.Env ?? []), spec.env);
  if (!hasEnv(env, 'HOME')) env = [...env, `HOME=${user.home}`];
  let args = commandLine(spec, image);
  if (spec.init) args = [INIT_PATH_IN_CONTAINER, '--', ...args];
  const caps = capabilitySet(spec);
  return {
    terminal: spec.tty,
    user: {
      uid: user.uid,
      gid: user.gid,
      ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}),
    },
    args,
    env,
    cwd: spec.workingDir || image.WorkingDir || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: DEFAULT_NOFILE, soft: DEFAULT_NOFILE }],
    noNewPrivileges: false,
  };
}

function buildMounts(inputs: SpecInputs): OciMount[] {
  const { spec } = inputs;
  const standard = standardMounts({ shmSizeBytes: spec.shmSizeBytes || DEFAULT_SHM_BYTES, privileged: spec.privileged });
  const user = spec.mounts.map((m) => userMount(m, (name) => inputs.volumePath(name)));
  if (spec.init) {
    if (!inputs.initBinary) {
      throw invalidArgument('init: no init binary is configured on this node (set the tasks service\'s initPath)');
    }
    user.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: inputs.initBinary, options: ['bind', 'ro', 'rprivate'] });
  }
  return combineMounts(standard, user);
}

/** The runtime spec of a container, before a task gives it a network namespace and name files. */
export function buildRuntimeSpec(inputs: SpecInputs): OciSpec {
  const { spec } = inputs;
  const hostname = containerHostname(inputs);
  const mode = networkMode(spec);
  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (mode !== 'host') namespaces.push({ type: 'network' });
  const devices = spec.privileged
    ? [{ allow: true, access: 'rwm' }]
    : DEFAULT_DEVICE_RULES.map((rule) => ({ ...rule }));
  return {
    ociVersion: OCI_VERSION,
    process: buildProcess(inputs, hostname),
    root: { path: 'rootfs', readonly: spec.readOnlyRootfs },
    hostname,
    ...(spec.domainname !== '' ? { domainname: spec.domainname } : {}),
    mounts: buildMounts(inputs),
    linux: {
      namespaces,
      cgroupsPath: inputs.cgroupsPath,
      resources: { devices, ...ociResources(spec.resources, inputs.host) },
      ...(spec.privileged
        ? { devices: inputs.hostDevices ?? [] }
        : { maskedPaths: [...MASKED_PATHS], readonlyPaths: [...READONLY_PATHS] }),
      ...(mode !== 'host'
        ? { sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' } }
        : {}),
    },
    annotations: {
      [ANNOTATIONS.containerId]: inputs.id,
      [ANNOTATIONS.containerName]: inputs.name,
      [ANNOTATIONS.namespace]: inputs.namespace,
      [ANNOTATIONS.image]: inputs.imageName,
    },
  };
}

/** Host paths of a container's name files, bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf. */
export interface NameFiles {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
}

/**
 * The spec a task runs with: `base` plus the network namespace path (absent
 * with host networking) and the name files, unless the user mounted over them.
 */
export function withTaskEnvironment(base: OciSpec, env: { netnsPath?: string | undefined; nameFiles?: NameFiles | undefined }): OciSpec {
  const spec = structuredClone(base);
  spec.linux.namespaces = spec.linux.namespaces.map((ns) =>
    ns.type === 'network' && env.netnsPath ? { type: 'network', path: env.netnsPath } : ns,
  );
  if (env.nameFiles) {
    const taken = new Set(spec.mounts.map((m) => m.destination));
    const options = ['rbind', 'rprivate', ...(base.root.readonly ? ['ro'] : [])];
    const files: [string, string][] = [
      ['/etc/resolv.conf', env.nameFiles.resolvConfPath],
      ['/etc/hostname', env.nameFiles.hostnamePath],
      ['/etc/hosts', env.nameFiles.hostsPath],
    ];
    for (const [destination, source] of files) {
      if (!taken.has(destination) && source !== '') spec.mounts.push({ destination, type: 'bind', source, options });
    }
  }
  return spec;
}

/** The process of an exec: the container's process with the exec's overrides. */
export function buildExecProcess(
  base: OciProcess,
  opts: tasks.ProcessOptions,
  user: ResolvedUser | undefined,
): OciProcess {
  if (opts.args.length === 0) throw invalidArgument('process.args: no command given for exec');
  const caps = opts.privileged ? capabilitySet({ privileged: true, capAdd: [], capDrop: [] }) : undefined;
  return {
    ...structuredClone(base),
    terminal: opts.tty,
    args: [...opts.args],
    env: mergeEnv(base.env, opts.env),
    cwd: opts.workingDir || base.cwd,
    ...(user
      ? {
          user: {
            uid: user.uid,
            gid: user.gid,
            ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}),
          },
        }
      : {}),
    ...(caps ? { capabilities: { bounding: caps, effective: caps, permitted: caps } } : {}),
  };
}

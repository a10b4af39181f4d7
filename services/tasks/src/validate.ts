// Checks of everything a user can ask of a container, before anything is
// created: a bad field is INVALID_ARGUMENT naming the field and the value.
import { isIP } from 'node:net';
import { isAbsolute, normalize } from 'node:path';
import { tasks, types } from '@berth/api';
import { normalizeCapability } from '@berth/runtime-spec';
import { checkUserSpec, specInvalidArgument } from './container-spec.js';
import { invalidArgument } from './errors.js';
import { parseSignal } from './signals.js';

/** Facts about the node that bound what a container may ask for. */
export interface HostLimits {
  /** Online CPUs. */
  cpus: number;
  /** Physical memory in bytes. */
  memoryBytes: number;
}

/** Docker's floor for --memory. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
const MAX_CPU_SHARES = 262_144;
/** Docker's volume name rule. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;
const BUILTIN_NETWORKS = new Set(['host', 'none']);
const PROPAGATION = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const BIND_OPTIONS = new Set(['ro', 'rw', 'bind', 'rbind', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'nocopy', ...PROPAGATION]);
const TMPFS_FLAGS = new Set(['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', ...PROPAGATION]);
const TMPFS_KEYS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks']);

const q = (value: unknown) => JSON.stringify(value);


/** The cpuset "0-1,3" as CPU numbers; INVALID_ARGUMENT when malformed. */
export function parseCpuset(text: string, field: string): number[] {
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw invalidArgument(`${field}: invalid cpuset ${q(text)}: expected a list such as "0-1,3"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw invalidArgument(`${field}: invalid cpuset ${q(text)}: range ${part} goes backwards`);
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  return cpus;
}

/** Checks cgroup limits; used for create and for live updates. */
export function validateResources(resources: tasks.Resources | undefined, host: HostLimits, field = 'resources'): void {
  if (!resources) return;
  const { memoryBytes, memorySwapBytes, nanoCpus, cpuShares, cpusetCpus, pidsLimit } = resources;
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0) {
    throw invalidArgument(`${field}.memory_bytes: invalid memory limit ${memoryBytes}: must be 0 (unset) or a positive number of bytes`);
  }
  if (memoryBytes > 0 && memoryBytes < MIN_MEMORY_BYTES) {
    throw invalidArgument(`${field}.memory_bytes: memory limit ${memoryBytes} is below the minimum of 6 MiB (${MIN_MEMORY_BYTES} bytes)`);
  }
  if (host.memoryBytes > 0 && memoryBytes > host.memoryBytes) {
    throw invalidArgument(
      `${field}.memory_bytes: memory limit ${memoryBytes} bytes is more than the node's memory of ${host.memoryBytes} bytes`,
    );
  }
  if (!Number.isSafeInteger(memorySwapBytes) || memorySwapBytes < -1) {
    throw invalidArgument(`${field}.memory_swap_bytes: invalid memory+swap limit ${memorySwapBytes}: must be -1 (unlimited), 0 (default) or bytes`);
  }
  if (memorySwapBytes > 0 && memoryBytes === 0) {
    throw invalidArgument(`${field}.memory_swap_bytes: a memory+swap limit needs a memory limit as well`);
  }
  if (memorySwapBytes > 0 && memorySwapBytes < memoryBytes) {
    throw invalidArgument(
      `${field}.memory_swap_bytes: memory+swap limit ${memorySwapBytes} must be at least the memory limit ${memoryBytes}`,
    );
  }
  if (!Number.isSafeInteger(nanoCpus) || nanoCpus < 0) {
    throw invalidArgument(`${field}.nano_cpus: invalid CPU quota ${nanoCpus}: must be 0 (unset) or positive`);
  }
  if (nanoCpus > 0 && (nanoCpus < 10_000_000 || nanoCpus > host.cpus * 1e9)) {
    throw invalidArgument(
      `${field}.nano_cpus: ${nanoCpus / 1e9} CPUs asked for; the range is 0.01 to ${host.cpus.toFixed(2)}, as the node has ${host.cpus} CPUs`,
    );
  }
  if (cpuShares !== 0 && (cpuShares < 2 || cpuShares > MAX_CPU_SHARES)) {
    throw invalidArgument(`${field}.cpu_shares: ${cpuShares} is outside 2..${MAX_CPU_SHARES}`);
  }
  if (cpusetCpus !== '') {
    const bad = parseCpuset(cpusetCpus, `${field}.cpuset_cpus`).filter((c) => c >= host.cpus);
    if (bad.length > 0) {
      throw invalidArgument(
        `${field}.cpuset_cpus: CPUs ${bad.join(',')} of ${q(cpusetCpus)} do not exist; the node has CPUs 0-${host.cpus - 1}`,
      );
    }
  }
  if (!Number.isSafeInteger(pidsLimit) || pidsLimit < -1) {
    throw invalidArgument(`${field}.pids_limit: invalid pids limit ${pidsLimit}: must be -1 (unlimited), 0 (unset) or positive`);
  }
}

/**
 * Checks a mount's syntax. Whether a bind source exists is the agent's to
 * check, on the node that mounts it.
 */
function validateMount(m: types.Mount, i: number): void {
  const field = `mounts[${i}]`;
  if (!isAbsolute(m.target) || normalize(m.target) === '/') {
    throw invalidArgument(`${field}: invalid mount target ${q(m.target)}: must be an absolute path other than "/"`);
  }
  const checkFlags = (allowed: Set<string>, keys?: Set<string>) => {
    for (const opt of m.options) {
      const eq = opt.indexOf('=');
      if (eq > 0 && keys?.has(opt.slice(0, eq)) && opt.length > eq + 1) continue;
      if (!allowed.has(opt)) throw invalidArgument(`${field}: invalid ${m.type} mount option ${q(opt)}`);
    }
    if (m.options.filter((o) => PROPAGATION.includes(o)).length > 1) {
      throw invalidArgument(`${field}: more than one propagation option in ${q(m.options)}`);
    }
  };
  switch (m.type) {
    case 'bind': {
      if (!isAbsolute(m.source) || m.source.includes('\0')) {
        throw invalidArgument(`${field}: invalid mount source ${q(m.source)}: a bind source must be an absolute host path`);
      }
      checkFlags(BIND_OPTIONS);
      return;
    }
    case 'volume':
      if (m.source !== '' && !VOLUME_NAME.test(m.source)) {
        throw invalidArgument(
          `${field}: invalid volume name ${q(m.source)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters`,
        );
      }
      checkFlags(BIND_OPTIONS);
      return;
    case 'tmpfs':
      checkFlags(TMPFS_FLAGS, TMPFS_KEYS);
      return;
    default:
      throw invalidArgument(`${field}: invalid mount type ${q(m.type)}: expected "bind", "volume" or "tmpfs"`);
  }
}

/** "80", "80/tcp", "8000-8010/udp" as [from, to, proto]; INVALID_ARGUMENT otherwise. */
export function parseExposedPort(text: string, field: string): { from: number; to: number; protocol: 'tcp' | 'udp' | 'sctp' } {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(text.trim());
  const from = Number(m?.[1]);
  const to = m?.[2] === undefined ? from : Number(m[2]);
  if (!m || from < 1 || to > 65535 || to < from) {
    throw invalidArgument(`${field}: invalid port ${q(text)}: expected PORT[/PROTO] or FROM-TO[/PROTO] within 1-65535`);
  }
  return { from, to, protocol: (m[3]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' | 'sctp' };
}

/** Checks the networks of a spec (and that published ports have a network to go through). */
export function validateNetworks(spec: tasks.ContainerSpec): void {
  const names = spec.networks.map((n) => n.network);
  const seen = new Set<string>();
  spec.networks.forEach((n, i) => {
    const field = `networks[${i}]`;
    if (n.network.trim() === '') throw invalidArgument(`${field}: empty network name`);
    if (seen.has(n.network)) throw invalidArgument(`${field}: network ${q(n.network)} is listed twice`);
    seen.add(n.network);
    if (BUILTIN_NETWORKS.has(n.network) && spec.networks.length > 1) {
      throw invalidArgument(`${field}: network ${q(n.network)} cannot be combined with other networks (${names.join(', ')})`);
    }
    if (n.aliases.length > 0 && (BUILTIN_NETWORKS.has(n.network) || n.network === 'bridge')) {
      throw invalidArgument(`${field}: network aliases are only supported on user-defined networks, not on ${q(n.network)}`);
    }
    if (n.ipAddress !== '' && isIP(n.ipAddress) === 0) {
      throw invalidArgument(`${field}: invalid IP address ${q(n.ipAddress)}`);
    }
    if (n.ipAddress !== '' && BUILTIN_NETWORKS.has(n.network)) {
      throw invalidArgument(`${field}: a static IP address cannot be used with network ${q(n.network)}`);
    }
  });
  const mode = names.length === 1 && BUILTIN_NETWORKS.has(names[0]!) ? names[0] : undefined;
  if (mode && (spec.ports.length > 0 || spec.publishAll)) {
    throw invalidArgument(`ports: published ports need a bridge or user network; the container uses network ${q(mode)}`);
  }
}

function validatePorts(spec: tasks.ContainerSpec): void {
  spec.ports.forEach((p, i) => {
    const field = `ports[${i}]`;
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
      throw invalidArgument(`${field}: invalid container port ${p.containerPort}: must be within 1-65535`);
    }
    if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535) {
      throw invalidArgument(`${field}: invalid host port ${p.hostPort}: must be within 0-65535 (0 picks a free one)`);
    }
    if (p.hostIp !== '' && isIP(p.hostIp) === 0) throw invalidArgument(`${field}: invalid host IP ${q(p.hostIp)}`);
    if (p.protocol === types.Protocol.UNRECOGNIZED) throw invalidArgument(`${field}: unknown protocol`);
  });
  spec.exposedPorts.forEach((p, i) => parseExposedPort(p, `exposed_ports[${i}]`));
}

function validateRestartPolicy(policy: tasks.RestartPolicy | undefined, autoRemove: boolean, field: string): void {
  if (!policy) return;
  const { RestartPolicyName: N } = tasks;
  if (policy.name === N.UNRECOGNIZED) throw invalidArgument(`${field}.name: unknown restart policy`);
  if (!Number.isInteger(policy.maxRetries) || policy.maxRetries < 0) {
    throw invalidArgument(`${field}.max_retries: invalid maximum retry count ${policy.maxRetries}: must be 0 or more`);
  }
  if (policy.maxRetries > 0 && policy.name !== N.ON_FAILURE) {
    throw invalidArgument(`${field}: a maximum retry count can only be used with the "on-failure" restart policy`);
  }
  const restarts = policy.name !== N.UNSPECIFIED && policy.name !== N.NO;
  if (restarts && autoRemove) {
    throw invalidArgument(`conflicting options: a restart policy (${field}) cannot be combined with auto_remove (--rm)`);
  }
}

/** Checks a restart policy for an existing container (UpdateContainer). */
export function validateRestartPolicyUpdate(policy: tasks.RestartPolicy | undefined, autoRemove: boolean): void {
  validateRestartPolicy(policy, autoRemove, 'restart_policy');
}

/** Checks every user-given field of a ContainerSpec; throws INVALID_ARGUMENT for the first bad one. */
export function validateContainerSpec(spec: tasks.ContainerSpec, host: HostLimits): void {
  if (spec.image.trim() === '') throw invalidArgument('image: no image given');
  spec.env.forEach((e, i) => {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === '' || /[\0\s]/.test(key) || e.includes('\0')) {
      throw invalidArgument(`env[${i}]: invalid environment variable ${q(e)}: expected KEY=VALUE`);
    }
  });
  checkUserSpec(spec.user, 'user');
  if (spec.workingDir !== '' && !isAbsolute(spec.workingDir)) {
    throw invalidArgument(`working_dir: ${q(spec.workingDir)} is not an absolute path`);
  }
  if (spec.hostname !== '' && (spec.hostname.length > 64 || !HOSTNAME.test(spec.hostname))) {
    throw invalidArgument(`hostname: invalid hostname ${q(spec.hostname)}`);
  }
  if (spec.domainname !== '' && (spec.domainname.length > 255 || !HOSTNAME.test(spec.domainname))) {
    throw invalidArgument(`domainname: invalid domain name ${q(spec.domainname)}`);
  }
  const targets = new Set<string>();
  spec.mounts.forEach((m, i) => {
    validateMount(m, i);
    const target = normalize(m.target);
    if (targets.has(target)) throw invalidArgument(`mounts[${i}]: duplicate mount point ${q(m.target)}`);
    targets.add(target);
  });
  validateResources(spec.resources, host);
  specInvalidArgument(() => {
    spec.capAdd.forEach((c, i) => normalizeCapability(c, `cap_add[${i}]`));
    spec.capDrop.forEach((c, i) => normalizeCapability(c, `cap_drop[${i}]`));
  });
  if (!Number.isSafeInteger(spec.shmSizeBytes) || spec.shmSizeBytes < 0) {
    throw invalidArgument(`shm_size_bytes: invalid /dev/shm size ${spec.shmSizeBytes}: must be 0 (default) or positive`);
  }
  if (spec.stopSignal !== '') {
    try {
      parseSignal(spec.stopSignal);
    } catch (error) {
      throw invalidArgument(`stop_signal: ${(error as Error).message}`);
    }
  }
  if (spec.stopTimeoutSeconds !== undefined && spec.stopTimeoutSeconds < -1) {
    throw invalidArgument(`stop_timeout_seconds: ${spec.stopTimeoutSeconds} is invalid: use -1 to wait forever, or 0 or more seconds`);
  }
  validateRestartPolicy(spec.restartPolicy, spec.autoRemove, 'restart_policy');
  validateNetworks(spec);
  validatePorts(spec);
  spec.extraHosts.forEach((h, i) => {
    const sep = h.indexOf(':');
    const name = sep < 0 ? '' : h.slice(0, sep);
    const ip = sep < 0 ? '' : h.slice(sep + 1);
    if (name === '' || isIP(ip) === 0) throw invalidArgument(`extra_hosts[${i}]: invalid host entry ${q(h)}: expected HOST:IP`);
  });
  spec.dns?.servers.forEach((s, i) => {
    if (isIP(s) === 0) throw invalidArgument(`dns.servers[${i}]: invalid name server address ${q(s)}`);
  });
  for (const key of Object.keys(spec.labels)) {
    if (key.trim() === '') throw invalidArgument('labels: empty label key');
  }
  if (spec.platform && (spec.platform.os === '' || spec.platform.architecture === '')) {
    throw invalidArgument('platform: both os and architecture are needed');
  }
  if (spec.snapshotKey !== '' && !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/.test(spec.snapshotKey)) {
    throw invalidArgument(`snapshot_key: invalid snapshot key ${q(spec.snapshotKey)}`);
  }
}

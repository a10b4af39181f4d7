// `run`/`create` flags as the tasks service's CreateContainerRequest.
// Everything is checked here, before any call, so a bad flag costs nothing.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tasks, types } from '@berth/api';
import { UsageError } from './output.js';
import { labelsFrom, parseEnvFile, parseEnvValue } from './parse/env.js';
import type { MountSpec } from './parse/mounts.js';
import type { PortProtocol, PublishedPort } from './parse/ports.js';
import type { RestartSpec } from './parse/restart.js';

/** The run/create flags after commander parsed them (parsers already applied). */
export interface RunFlags {
  name?: string;
  detach?: boolean;
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  envFile: string[];
  publish: PublishedPort[][];
  publishAll?: boolean;
  expose: string[];
  volume: MountSpec[];
  mount: MountSpec[];
  tmpfs: MountSpec[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  network: string[];
  networkAlias: string[];
  ip?: string;
  hostname?: string;
  domainname?: string;
  restart?: RestartSpec;
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  readOnly?: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged?: boolean;
  label: string[];
  platform?: string;
  pull: string;
  stopSignal?: string;
  stopTimeout?: number;
  init?: boolean;
  shmSize?: number;
  addHost: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
}

export interface SpecInputs {
  /** Reads an --env-file. */
  readFile: (path: string) => string;
  env: NodeJS.ProcessEnv;
  /** Names anonymous volumes. */
  randomName: () => string;
}

const defaultInputs = (): SpecInputs => ({
  readFile: (path) => readFileSync(path, 'utf8'),
  env: process.env,
  randomName: () => randomBytes(32).toString('hex'),
});

const PROTOCOL: Record<PortProtocol, types.Protocol> = {
  tcp: types.Protocol.TCP,
  udp: types.Protocol.UDP,
  sctp: types.Protocol.SCTP,
};

const RESTART: Record<RestartSpec['name'], tasks.RestartPolicyName> = {
  no: tasks.RestartPolicyName.NO,
  always: tasks.RestartPolicyName.ALWAYS,
  'unless-stopped': tasks.RestartPolicyName.UNLESS_STOPPED,
  'on-failure': tasks.RestartPolicyName.ON_FAILURE,
};

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks flag combinations Docker refuses. */
function checkConflicts(f: RunFlags): void {
  if (f.name !== undefined && !NAME.test(f.name)) {
    throw new UsageError(`invalid container name "${f.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  if (f.rm && f.restart && f.restart.name !== 'no') {
    throw new UsageError('conflicting options: --restart and --rm (a container removed on exit cannot be restarted)');
  }
  const special = f.network.filter((n) => n === 'host' || n === 'none');
  if (special.length > 0 && f.network.length > 1) {
    throw new UsageError(`conflicting options: --network ${special[0]} cannot be combined with other networks`);
  }
  if (special.length > 0 && (f.publish.length > 0 || f.publishAll)) {
    throw new UsageError(`conflicting options: ports cannot be published with --network ${special[0]}`);
  }
  if (f.networkAlias.length > 0 && (f.network.length === 0 || special.length > 0)) {
    throw new UsageError('--network-alias needs a user-defined --network');
  }
  if (f.memorySwap !== undefined && f.memorySwap !== -1 && f.memory !== undefined && f.memorySwap < f.memory) {
    throw new UsageError('--memory-swap must be at least --memory (it counts memory plus swap), or -1 for unlimited swap');
  }
  if (f.memorySwap !== undefined && f.memory === undefined) {
    throw new UsageError('--memory-swap needs --memory as well');
  }
}

function environment(f: RunFlags, inputs: SpecInputs): string[] {
  const env: string[] = [];
  for (const file of f.envFile) {
    let text: string;
    try {
      text = inputs.readFile(file);
    } catch (err) {
      throw new UsageError(`cannot read --env-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    env.push(...parseEnvFile(text, file, inputs.env));
  }
  for (const e of f.env) {
    const value = parseEnvValue(e, inputs.env);
    if (value !== undefined) env.push(value);
  }
  return env;
}

function mounts(f: RunFlags, inputs: SpecInputs): types.Mount[] {
  const all = [...f.volume, ...f.mount, ...f.tmpfs];
  const targets = new Set<string>();
  for (const m of all) {
    if (targets.has(m.target)) throw new UsageError(`duplicate mount point: ${m.target}`);
    targets.add(m.target);
  }
  return all.map((m) =>
    types.Mount.fromPartial({
      type: m.type,
      source: m.type === 'volume' && m.source === '' ? inputs.randomName() : m.source,
      target: m.target,
      options: m.options,
    }),
  );
}

function networks(f: RunFlags): tasks.NetworkEndpoint[] {
  return f.network.map((network, i) =>
    tasks.NetworkEndpoint.fromPartial({
      network,
      aliases: i === 0 ? f.networkAlias : [],
      ipAddress: i === 0 ? (f.ip ?? '') : '',
    }),
  );
}

/** The CreateContainerRequest for `run`/`create` IMAGE [COMMAND...] with these flags. */
export function buildCreateRequest(
  image: string,
  command: string[],
  f: RunFlags,
  inputs: SpecInputs = defaultInputs(),
): tasks.CreateContainerRequest {
  checkConflicts(f);
  const entrypoint = f.entrypoint === undefined ? undefined : { args: f.entrypoint === '' ? [] : [f.entrypoint] };
  // Docker: an --entrypoint override drops the image's CMD too, unless a command is given
  const cmd = command.length > 0 ? { args: command } : entrypoint ? { args: [] } : undefined;
  const spec = tasks.ContainerSpec.fromPartial({
    image,
    platform: undefined,
    entrypoint,
    cmd,
    env: environment(f, inputs),
    workingDir: f.workdir ?? '',
    user: f.user ?? '',
    hostname: f.hostname ?? '',
    domainname: f.domainname ?? '',
    tty: f.tty === true,
    openStdin: f.interactive === true,
    mounts: mounts(f, inputs),
    readOnlyRootfs: f.readOnly === true,
    resources: {
      memoryBytes: f.memory ?? 0,
      memorySwapBytes: f.memorySwap ?? 0,
      nanoCpus: f.cpus ?? 0,
      cpuShares: f.cpuShares ?? 0,
      cpusetCpus: f.cpusetCpus ?? '',
      pidsLimit: f.pidsLimit ?? 0,
    },
    capAdd: f.capAdd,
    capDrop: f.capDrop,
    privileged: f.privileged === true,
    shmSizeBytes: f.shmSize ?? 0,
    stopSignal: f.stopSignal ?? '',
    ...(f.stopTimeout !== undefined ? { stopTimeoutSeconds: f.stopTimeout } : {}),
    init: f.init === true,
    restartPolicy: f.restart ? { name: RESTART[f.restart.name], maxRetries: f.restart.maxRetries } : undefined,
    labels: labelsFrom(f.label),
    networks: networks(f),
    ports: f.publish.flat().map((p) => ({ ...p, protocol: PROTOCOL[p.protocol] })),
    publishAll: f.publishAll === true,
    exposedPorts: f.expose,
    extraHosts: f.addHost,
    dns: f.dns.length + f.dnsSearch.length + f.dnsOption.length > 0 ? { servers: f.dns, search: f.dnsSearch, options: f.dnsOption } : undefined,
    // --rm: a detached container is removed by the tasks service when it exits; a
    // foreground run removes its container itself once its output has been read
    autoRemove: f.rm === true && f.detach === true,
  });
  return tasks.CreateContainerRequest.fromPartial({ name: f.name ?? '', spec });
}

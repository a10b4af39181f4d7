// `run`/`create` flags checked before anything else happens: flag
// combinations Docker refuses, environment files, the pull policy, the
// platform, mount points. Pure but for reading --env-file, and free of the API, so the CLI
// runs these checks before it even looks for the stack.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathOf, type CliIo } from './stdio/io.js';
import { UsageError } from './output.js';
import { parseEnvFile, parseEnvValue } from './parse/env.js';
import { parsePlatformFlag } from './parse/platform.js';
import type { MountSpec } from './parse/mounts.js';
import type { PublishedPort } from './parse/ports.js';
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

/** The inputs of a command run for io's caller. */
export const inputsOf = (io: CliIo): SpecInputs => ({
  readFile: (path) => readFileSync(pathOf(io, path), 'utf8'),
  env: io.env,
  randomName: () => randomBytes(32).toString('hex'),
});

/** Docker's container names: two characters at least. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Checks flag combinations Docker refuses. */
export function checkConflicts(f: RunFlags): void {
  if (f.name !== undefined && !NAME.test(f.name)) {
    throw new UsageError(`invalid container name "${f.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters`);
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

/** The container's environment: --env-file contents, then -e values. */
export function environment(f: RunFlags, inputs: SpecInputs): string[] {
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

/** -v, --mount and --tmpfs together, refusing two mounts on one path. */
export function allMounts(f: RunFlags): MountSpec[] {
  const all = [...f.volume, ...f.mount, ...f.tmpfs];
  const targets = new Set<string>();
  for (const m of all) {
    if (targets.has(m.target)) throw new UsageError(`duplicate mount point: ${m.target}`);
    targets.add(m.target);
  }
  return all;
}

export type PullPolicy = 'missing' | 'always' | 'never';
const PULL_POLICIES: readonly string[] = ['missing', 'always', 'never'] satisfies PullPolicy[];

export function checkPullPolicy(policy: string): PullPolicy {
  if (!PULL_POLICIES.includes(policy)) throw new UsageError(`invalid --pull "${policy}": use missing, always or never`);
  return policy as PullPolicy;
}

/** Every check `run`/`create` flags must pass before a call is made; throws UsageError. */
export function checkRunFlags(f: RunFlags, inputs: SpecInputs): void {
  checkConflicts(f);
  checkPullPolicy(f.pull);
  parsePlatformFlag(f.platform);
  environment(f, inputs);
  allMounts(f);
}

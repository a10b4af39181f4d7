// berth as a contestant: the whole stack (its own nats-server and the five
// services, each its own process) on a private state root, runtime dir and
// NATS port, started through @berth/stack as `berth system up` does, and
// driven with the real CLI binary.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { systemDown, systemStatus, systemUp, type StackOptions } from '@berth/stack';
import { freePort, makeStateRoot, privateNetwork, requireBinary } from '@berth/testkit';
import { output, runCommand, type Command } from '../exec.js';
import { listProcesses, matchProcesses } from '../memory.js';
import { killAndWait } from '../processes.js';

/** Cleanup must finish: no step of it waits longer than this. */
const CLEANUP_TIMEOUT_MS = 90_000;

export interface BerthPeer {
  root: string;
  runtimeDir: string;
  natsUrl: string;
  namespace: string;
  /** `berth …args` with the environment that points it at this stack. */
  cli(...args: string[]): Command;
  /** The CLI's entry point. */
  cliBin: string;
  /** nats-server and the five services, as the launcher reports them. */
  components(): Promise<{ name: string; pid: number }[]>;
  /** The per-container monitors (conmon) of this stack's agent. */
  monitorPids(): number[];
  stop(): Promise<void>;
}

/** The `berth` command as installed: the "bin" of @berth/cli (its esbuild bundle), run directly, through its #! line. */
export function berthCliBin(): string {
  const manifestFile = createRequire(import.meta.url).resolve('@berth/cli/package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { bin?: Record<string, string> };
  const entry = manifest.bin?.['berth'];
  if (entry === undefined) throw new Error(`${manifestFile} declares no "berth" bin`);
  const bin = join(dirname(manifestFile), entry);
  if (!existsSync(bin)) throw new Error(`the berth CLI is not built: ${bin} is missing (run npx nx run-many -t build)`);
  return bin;
}

/** BERTH_* settings of whoever started the harness must not steer the private stack or CLI. Pure. */
export function withoutBerthEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('BERTH_')));
}

export async function startBerth(opts: {
  namespace: string;
  node: string;
  log: (msg: string) => void;
  /** Extra environment for the services and the CLI (e.g. OTEL_TRACES_EXPORTER for a diagnosis); none in a benchmark. */
  env?: NodeJS.ProcessEnv;
}): Promise<BerthPeer> {
  const cliBin = berthCliBin();
  const runc = requireBinary('runc', 'apt-get install runc');
  requireBinary('conmon', 'apt-get install conmon');
  requireBinary('nats-server', 'apt-get install nats-server');
  const state = await makeStateRoot('berth-bench');
  // Its own bridge and netns prefix: the networking service's reconcile
  // removes every netns of its prefix it does not know, a berth's on this host included.
  const network = privateNetwork('bbn');
  const stack: StackOptions = {
    root: state.root,
    runtimeDir: state.runtimeDir,
    natsPort: await freePort(),
    natsBinary: 'nats-server',
    node: opts.node,
    readyTimeoutMs: 60_000,
    env: { ...opts.env, ...network.env },
    // the CLI host, as `berth system up` starts it: the `berth` client runs its commands there
    companions: [{ name: 'cli-host', main: createRequire(import.meta.url).resolve('@berth/cli/host') }],
  };
  const natsUrl = `nats://127.0.0.1:${stack.natsPort}`;
  const env: NodeJS.ProcessEnv = {
    ...withoutBerthEnv(process.env),
    ...opts.env,
    ...network.env,
    BERTH_ROOT: state.root,
    BERTH_RUNTIME_DIR: state.runtimeDir,
    BERTH_NAMESPACE: opts.namespace,
    BERTH_NATS_URL: natsUrl,
  };
  const cli = (...args: string[]): Command => ({ file: cliBin, args, env });
  const monitorPids = () => matchProcesses(listProcesses(), 'conmon', [state.root]).map((p) => p.pid);

  const stop = async (): Promise<void> => {
    const status = await systemStatus(stack).catch(() => []);
    if (status.find((c) => c.name === 'tasks')?.health === 'SERVING') {
      const ids = (await output(cli('ps', '-aq'), CLEANUP_TIMEOUT_MS).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await output(cli('rm', '-f', ...ids), CLEANUP_TIMEOUT_MS).catch((err) => opts.log(`berth rm -f at cleanup: ${(err as Error).message}`));
    }
    await systemDown(stack);
    // Containers outlive the stack by design: end whatever is left of ours.
    for (const pid of monitorPids()) await killAndWait(pid, 2_000);
    const runcRoot = join(state.root, 'agent', 'runc');
    if (existsSync(runcRoot) && readdirSync(runcRoot).length > 0) {
      const ids = (await output({ file: runc, args: ['--root', runcRoot, 'list', '-q'] }).catch(() => '')).split('\n').filter(Boolean);
      for (const id of ids) await runCommand({ file: runc, args: ['--root', runcRoot, 'delete', '-f', id] }).catch(() => undefined);
    }
    network.cleanup();
    await state.cleanup();
  };

  opts.log(`berth stack: state root ${state.root}, runtime dir ${state.runtimeDir}, NATS ${natsUrl}`);
  try {
    await systemUp(stack, (e) => opts.log(`berth ${e.name}: ${e.action}`));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    root: state.root,
    runtimeDir: state.runtimeDir,
    natsUrl,
    namespace: opts.namespace,
    cli,
    cliBin,
    components: async () =>
      (await systemStatus(stack)).flatMap((c) => (c.pid !== undefined && c.running ? [{ name: c.name, pid: c.pid }] : [])),
    monitorPids,
    stop,
  };
}

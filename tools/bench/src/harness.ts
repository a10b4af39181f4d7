// One benchmark run: set up the registry, containerd, the berth stack and
// the runc floor; run the selected scenarios in order; take everything down
// again whatever happens.
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '@berth/testkit';
import { Cleanup, onSignals } from './cleanup.js';
import { blockCommands, output, unblockCommands } from './exec.js';
import { startFixtures } from './fixtures.js';
import { errorText } from './interleave.js';
import { collectMachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import { berthCliBin, startBerth, withoutBerthEnv } from './peers/berth.js';
import { startContainerd } from './peers/containerd.js';
import { prepareRuncFloor } from './peers/runc.js';
import type { BenchReport, ScenarioReport } from './report.js';
import type { BenchEnv, Scenario, ScenarioCounts } from './scenario.js';
import { runRmScenario, ECHO_ARGS } from './scenarios/s1-run-rm.js';
import { coldPullScenario } from './scenarios/s2-cold-pull.js';
import { fanOutScenario } from './scenarios/s3-fan-out.js';
import { memoryScenario } from './scenarios/s4-memory.js';
import { exitEventScenario } from './scenarios/s5-exit-events.js';
import { cliScenario } from './scenarios/s6-cli.js';

export const SCENARIOS: readonly Scenario[] = [runRmScenario, coldPullScenario, fanOutScenario, memoryScenario, exitEventScenario, cliScenario];

/** A scenario's counts: its defaults (or --quick ones), with --runs/--warmup/--containers on top. Pure. */
export function countsFor(s: Scenario, o: Pick<BenchOptions, 'quick' | 'runs' | 'warmup' | 'containers'>): ScenarioCounts {
  const base = o.quick ? s.quick : s.defaults;
  return {
    ...base,
    ...(o.runs !== undefined ? { runs: o.runs } : {}),
    ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
    ...(o.containers !== undefined && base.containers !== undefined ? { containers: o.containers } : {}),
  };
}

/** How long an interrupted run may take to unwind into its cleanup before the cleanup runs regardless. */
const UNWIND_GRACE_MS = 20_000;

/** Both sides use the same namespace name. */
export const NAMESPACE = 'bench';

export async function runBench(opts: BenchOptions, command: string, log: (msg: string) => void): Promise<BenchReport> {
  const selected = SCENARIOS.filter((s) => opts.scenarios.includes(s.id));
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  // The private stack's services inherit our environment.
  for (const k of Object.keys(process.env)) {
    if (k.startsWith('BERTH_')) log(`ignoring ${k} from the environment: the benchmark runs its own private stack`);
  }
  process.env = withoutBerthEnv(process.env);

  const cleanup = new Cleanup();
  const interruption = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const cleanUp = async () => {
    unblockCommands();
    for (const f of await cleanup.runAll(log)) log(`cleanup failed: ${f}`);
  };
  // A signal stops the run where it is (commands in flight are killed, no
  // new sample is taken); the run unwinds into its cleanup. Should it not
  // unwind in time, the cleanup runs anyway and the process exits.
  const stopListening = onSignals((signal) => {
    if (interrupted) return log(`${signal}: still cleaning up (SIGKILL would leave containers and mounts behind)`);
    interrupted = signal;
    log(`${signal}: stopping the run, then cleaning up`);
    blockCommands(`the run was interrupted by ${signal}`);
    interruption.abort();
    setTimeout(() => void cleanUp().then(() => process.exit(signal === 'SIGINT' ? 130 : 143)), UNWIND_GRACE_MS).unref();
  });
  const scenarios: ScenarioReport[] = [];
  try {
    const machine = await collectMachineInfo({ file: berthCliBin(), args: [] });
    const workDir = await mkdtemp(join(tmpdir(), 'berth-bench-work-'));
    cleanup.add(`remove ${workDir}`, () => removeTree(workDir));

    const fixtures = await startFixtures({ debian: selected.some((s) => s.needs.debian), log });
    cleanup.add('stop the registry', () => fixtures.registry.stop());
    const containerd = await startContainerd({ namespace: NAMESPACE, log });
    cleanup.add('stop containerd and its shims, remove its root', () => containerd.stop());
    const berth = await startBerth({ namespace: NAMESPACE, node: 'bench', log });
    cleanup.add('remove berth containers, stop the stack, remove its state', () => berth.stop());
    const env: BenchEnv = { berth, containerd, fixtures, workDir, log, signal: interruption.signal };
    if (selected.some((s) => s.needs.runc)) {
      const runc = await prepareRuncFloor(fixtures.busyboxLayout, ECHO_ARGS);
      cleanup.add('remove the runc bundle', () => runc.stop());
      env.runc = runc;
    }
    log(`pulling ${fixtures.busybox} into berth and containerd (untimed)`);
    await output(berth.cli('pull', '-q', fixtures.busybox));
    await output(containerd.ctr('images', 'pull', '--plain-http', fixtures.busybox));

    for (const s of selected) {
      if (interrupted) break;
      const counts = countsFor(s, opts);
      log(`scenario ${s.id}: ${s.title} (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`);
      const t0 = Date.now();
      try {
        scenarios.push({ ...(await s.run(env, counts)), durationMs: Date.now() - t0 });
      } catch (err) {
        log(`scenario ${s.id} failed: ${errorText(err)}`);
        scenarios.push({
          id: s.id,
          title: s.title,
          method: [],
          counts: { ...counts },
          contestants: [],
          metrics: [],
          errors: [{ contestant: 'harness', round: 0, warmup: false, message: errorText(err) }],
          durationMs: Date.now() - t0,
        });
      }
      log(`scenario ${s.id} took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    return {
      schema: 'berth-bench/1',
      command,
      startedAt,
      finishedAt: new Date().toISOString(),
      quick: opts.quick,
      ...(interrupted ? { interrupted } : {}),
      machine: { ...machine, loadAverage: { start: loadStart, end: loadavg() } },
      scenarios,
    };
  } finally {
    await cleanUp();
    stopListening();
  }
}

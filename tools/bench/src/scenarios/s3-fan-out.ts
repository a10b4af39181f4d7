// 3. N containers (`sleep 600`) started concurrently: the time until every
// one is running, then the time to stop and remove them all. berth through
// its CLI (N `berth run -d` processes at once, then one `berth rm -f` of all
// of them: what a user types), berth through its NATS API (N concurrent
// containers.run requests, then N concurrent containers.remove with force:
// what an orchestrator does), containerd through ctr (N `ctr run -d` at
// once, then `ctr tasks rm -f` and `ctr containers rm` of all of them).
import type { NatsConnection } from 'nats';
import { output, runAllAtOnce, runTimed } from '../exec.js';
import { runInterleaved, samplesOf, type Contestant, type Slot } from '../interleave.js';
import { connectNats, requestJson, REMOVE_SUBJECT, RUN_SUBJECT } from '../nats-client.js';
import type { BerthPeer } from '../peers/berth.js';
import type { ContainerdPeer } from '../peers/containerd.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import { lines, progress, type Scenario } from '../scenario.js';

export const SLEEP_ARGS = ['sleep', '600'];
/** Containers per warm-up round (scenarios 3 and 4). */
export const WARMUP_CONTAINERS = 10;

/** `ctr tasks ls` rows: TASK PID STATUS. Pure. */
export function parseCtrTasks(text: string): { id: string; pid: number; status: string }[] {
  return lines(text)
    .slice(1)
    .map((l) => l.split(/\s+/))
    .filter((cols) => cols.length >= 3)
    .map((cols) => ({ id: cols[0] as string, pid: Number(cols[1]), status: cols[2] as string }));
}

const names = (label: string, n: number) => Array.from({ length: n }, (_, i) => `${label}-${i}`);

/** Throws unless every one of `wanted` is among `running` (berth ps prints ids, run -d printed full ones). */
function expectAllRunning(who: string, wanted: readonly string[], running: readonly string[]): void {
  const have = new Set(running);
  const missing = wanted.filter((w) => !have.has(w));
  if (missing.length > 0) throw new Error(`${who}: ${missing.length} of ${wanted.length} containers are not running: ${missing.slice(0, 5).join(', ')}`);
}

/** berth CLI: N `berth run -d` at once; then one `berth rm -f` of all. Exported for scenario 4. */
export async function berthCliStartAll(berth: BerthPeer, image: string, label: string, n: number): Promise<{ ms: number; ids: string[] }> {
  const cmds = names(label, n).map((name) => berth.cli('run', '-d', '--network', 'none', '--name', name, image, ...SLEEP_ARGS));
  const { ms, stdouts } = await runAllAtOnce(cmds);
  const ids = stdouts.map((s) => s.trim());
  expectAllRunning('berth', ids, lines(await output(berth.cli('ps', '-q', '--no-trunc'))));
  return { ms, ids };
}

export async function berthCliRemoveAll(berth: BerthPeer, ids: readonly string[]): Promise<number> {
  const r = await runTimed(berth.cli('rm', '-f', ...ids));
  const left = new Set(lines(await output(berth.cli('ps', '-aq', '--no-trunc'))));
  const still = ids.filter((id) => left.has(id));
  if (still.length > 0) throw new Error(`berth rm -f: ${still.length} containers still listed afterwards`);
  return r.ms;
}

/** containerd: N `ctr run -d` at once; then `ctr tasks rm -f` + `ctr containers rm` of all. Exported for scenario 4. */
export async function ctrStartAll(containerd: ContainerdPeer, image: string, label: string, n: number): Promise<{ ms: number; ids: string[] }> {
  const ids = names(label, n);
  const { ms } = await runAllAtOnce(ids.map((id) => containerd.ctr('run', '-d', ...containerd.runArgs(), image, id, ...SLEEP_ARGS)));
  const running = parseCtrTasks(await output(containerd.ctr('tasks', 'ls'))).filter((t) => t.status === 'RUNNING');
  expectAllRunning('containerd', ids, running.map((t) => t.id));
  return { ms, ids };
}

export async function ctrRemoveAll(containerd: ContainerdPeer, ids: readonly string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await output(containerd.ctr('tasks', 'rm', '-f', ...ids));
  await output(containerd.ctr('containers', 'rm', ...ids));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const left = new Set(lines(await output(containerd.ctr('containers', 'ls', '-q'))));
  const still = ids.filter((id) => left.has(id));
  if (still.length > 0) throw new Error(`ctr containers rm: ${still.length} containers still listed afterwards`);
  return ms;
}


async function berthNatsRound(nc: NatsConnection, berth: BerthPeer, image: string, label: string, n: number): Promise<{ start: number; remove: number }> {
  const spec = { image, cmd: { args: SLEEP_ARGS }, networks: [{ network: 'none' }] };
  const t0 = process.hrtime.bigint();
  const settled = await Promise.allSettled(
    names(label, n).map((name) => requestJson(nc, RUN_SUBJECT, { namespace: berth.namespace, name, spec }, 180_000)),
  );
  const start = Number(process.hrtime.bigint() - t0) / 1e6;
  const ids = settled.flatMap((s) => (s.status === 'fulfilled' ? [String((s.value as { container?: { id?: string } }).container?.id)] : []));
  const failed = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  if (failed.length > 0) {
    await Promise.allSettled(ids.map((id) => requestJson(nc, REMOVE_SUBJECT, { namespace: berth.namespace, id, force: true }, 180_000)));
    throw new Error(`${failed.length} of ${n} containers.run requests failed; first: ${failed[0]}`);
  }
  expectAllRunning('berth (NATS API)', ids, lines(await output(berth.cli('ps', '-q', '--no-trunc'))));
  const t1 = process.hrtime.bigint();
  const removed = await Promise.allSettled(ids.map((id) => requestJson(nc, REMOVE_SUBJECT, { namespace: berth.namespace, id, force: true }, 180_000)));
  const remove = Number(process.hrtime.bigint() - t1) / 1e6;
  const rmFailed = removed.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  if (rmFailed.length > 0) throw new Error(`${rmFailed.length} of ${n} containers.remove requests failed; first: ${rmFailed[0]}`);
  return { start, remove };
}

export const fanOutScenario: Scenario = {
  id: 3,
  title: 'containers started concurrently, then removed',
  needs: {},
  defaults: { warmup: 1, runs: 3, containers: 50 },
  quick: { warmup: 0, runs: 1, containers: 3 },
  async run(env, counts) {
    const n = counts.containers ?? 50;
    const image = env.fixtures.busybox;
    const { berth, containerd } = env;
    const info: ContestantInfo[] = [
      { name: 'berth', kind: 'berth', how: `${n}× berth run -d --network none --name <n> ${image} sleep 600 at once; berth rm -f <all>` },
      { name: 'berth (NATS API)', kind: 'berth', how: `${n} concurrent requests on ${RUN_SUBJECT}; ${n} concurrent ${REMOVE_SUBJECT} {force: true}` },
      { name: 'containerd', kind: 'peer', how: `${n}× ctr run -d ${image} <id> sleep 600 at once; ctr tasks rm -f <all>; ctr containers rm <all>` },
    ];
    // Warm-up rounds exercise the same paths with fewer containers: the point is warm code and caches, not another full round.
    const sized = (slot: Slot) => (slot.warmup ? Math.min(n, WARMUP_CONTAINERS) : n);
    const nc = await connectNats(berth.natsUrl);
    try {
      // A failed round must not leave its containers running during the others' rounds.
      const swept = (c: Contestant): Contestant => ({
        name: c.name,
        sample: (label, slot) => c.sample(label, slot).catch(async (err: unknown) => {
          await sweep(berth, containerd);
          throw err;
        }),
      });
      const contestants: Contestant[] = [
        {
          name: 'berth',
          async sample(label, slot) {
            const { ms: start, ids } = await berthCliStartAll(berth, image, label, sized(slot));
            return { start, remove: await berthCliRemoveAll(berth, ids) };
          },
        },
        { name: 'berth (NATS API)', sample: (label, slot) => berthNatsRound(nc, berth, image, label, sized(slot)) },
        {
          name: 'containerd',
          async sample(label, slot) {
            const { ms: start, ids } = await ctrStartAll(containerd, image, label, sized(slot));
            return { start, remove: await ctrRemoveAll(containerd, ids) };
          },
        },
      ];
      const result = await runInterleaved(contestants.map(swept), { ...counts, signal: env.signal, labelPrefix: 'fan', maxFailures: 1, onSample: progress(env.log, 3) });
      await sweep(env.berth, env.containerd);
      const samples = (metric: string) => samplesOf(result, metric);
      return {
        id: 3,
        title: `${n} ${this.title}`,
        method: [
          `Warm-up rounds start and remove ${WARMUP_CONTAINERS} containers.`,
          `Start: wall time from launching all ${n} starts at once until the last one returned (each returns once its container runs); every container is then checked to be running (untimed).`,
          'Remove: wall time of removing all of them, killed with SIGKILL (sleep as PID 1 ignores SIGTERM, so a graceful stop would only measure the stop timeout).',
          'berth through its CLI, as a user would, and through the tasks service’s NATS API, as an orchestrator would; containerd through ctr. No network for any (berth --network none; ctr and runc give a namespace with loopback only).',
        ],
        counts: { ...counts, containers: n },
        contestants: info,
        metrics: [
          buildMetric({ id: 'start', title: `${n} containers: start until all running`, unit: 'ms' }, info, samples('start')),
          buildMetric({ id: 'remove', title: `${n} containers: kill + remove all`, unit: 'ms' }, info, samples('remove')),
        ],
        errors: result.errors,
      };
    } finally {
      await nc.close().catch(() => undefined);
    }
  },
};

/** After a failed round: remove whatever containers are left, so later scenarios start clean. */
export async function sweep(berth: BerthPeer, containerd: ContainerdPeer): Promise<void> {
  const ids = lines(await output(berth.cli('ps', '-aq', '--no-trunc')).catch(() => ''));
  if (ids.length > 0) await output(berth.cli('rm', '-f', ...ids)).catch(() => undefined);
  const tasks = lines(await output(containerd.ctr('tasks', 'ls', '-q')).catch(() => ''));
  if (tasks.length > 0) await output(containerd.ctr('tasks', 'rm', '-f', ...tasks)).catch(() => undefined);
  const cs = lines(await output(containerd.ctr('containers', 'ls', '-q')).catch(() => ''));
  if (cs.length > 0) await output(containerd.ctr('containers', 'rm', ...cs)).catch(() => undefined);
}

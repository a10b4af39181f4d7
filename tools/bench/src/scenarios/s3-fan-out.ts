// 3. N containers (`sleep 600`) started concurrently: the time until every
// one is running, then the time to stop and remove them all. berth through
// its CLI (N `berth run -d` processes at once, then one `berth rm -f` of all
// of them: what a user types), berth through its NATS API (N concurrent
// containers.run requests, then N concurrent containers.remove with force:
// what an orchestrator does), containerd through ctr (N `ctr run -d` at
// once, then `ctr tasks rm -f` and `ctr containers rm` of all of them).
import type { NatsConnection } from 'nats';
import { output, runAllAtOnce, runTimed, sleep } from '../exec.js';
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

/** Every container's state as its runtime reports it: id → state (e.g. running, exited, unknown). */
export type StateLister = () => Promise<Map<string, string>>;

/** What "running" was not, right after every start had returned. */
export interface LateStart {
  /** How long after the starts returned every container was reported running. */
  waitedMs: number;
  /** State → count, of those not reported running at first. */
  firstStates: Record<string, number>;
}

/** How long the runtime may take to report every started container as running before the round fails. */
export const RUNNING_GRACE_MS = 60_000;

/** State → count over the ids not reported running. Pure. */
export function notRunning(wanted: readonly string[], states: ReadonlyMap<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of wanted) {
    const st = states.get(id) ?? 'absent';
    if (st !== 'running') out[st] = (out[st] ?? 0) + 1;
  }
  return out;
}

const describeStates = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([st, k]) => `${st} ×${k}`)
    .join(', ');

/**
 * Waits (untimed) until every one of `wanted` is reported running; undefined
 * when they all were at once. Throws, naming the states, if some never are.
 */
export async function awaitAllRunning(who: string, wanted: readonly string[], list: StateLister, graceMs = RUNNING_GRACE_MS): Promise<LateStart | undefined> {
  const t0 = Date.now();
  const first = notRunning(wanted, await list());
  if (Object.keys(first).length === 0) return undefined;
  let now = first;
  while (Date.now() - t0 < graceMs) {
    await sleep(1000);
    now = notRunning(wanted, await list());
    if (Object.keys(now).length === 0) return { waitedMs: Date.now() - t0, firstStates: first };
  }
  const missing = Object.values(now).reduce((a, b) => a + b, 0);
  throw new Error(
    `${who}: ${missing} of ${wanted.length} containers were still not reported running ${graceMs / 1000} s after every start had returned ` +
      `(now: ${describeStates(now)}; right after the starts: ${describeStates(first)})`,
  );
}

export interface StartAll {
  ms: number;
  ids: string[];
  late?: LateStart;
}

/** berth's view: `berth ps -a --no-trunc --format json`, state by full id. */
export function berthStates(berth: BerthPeer): StateLister {
  return async () => {
    const rows = JSON.parse(await output(berth.cli('ps', '-a', '--no-trunc', '--format', 'json'))) as { ID: string; State: string; Status?: string }[];
    return new Map(rows.map((r) => [r.ID, r.State === 'exited' && r.Status ? r.Status.replace(/ \d+ \w+ ago$| About .* ago$| Less than .* ago$/, '').toLowerCase() : r.State]));
  };
}

/** containerd's view: `ctr tasks ls`, status by id. */
export function ctrStates(containerd: ContainerdPeer): StateLister {
  return async () => new Map(parseCtrTasks(await output(containerd.ctr('tasks', 'ls'))).map((t) => [t.id, t.status.toLowerCase()]));
}

/** A start that did its work but whose containers are not all running fails, keeping the time it took. */
async function verified(who: string, ms: number, ids: string[], list: StateLister): Promise<StartAll> {
  try {
    const late = await awaitAllRunning(who, ids, list);
    return { ms, ids, ...(late ? { late } : {}) };
  } catch (err) {
    throw new Error(`${(err as Error).message}; the starts themselves took ${ms.toFixed(0)} ms`);
  }
}

/** berth CLI: N `berth run -d` at once; then one `berth rm -f` of all. Exported for scenario 4. */
export async function berthCliStartAll(berth: BerthPeer, image: string, label: string, n: number): Promise<StartAll> {
  const cmds = names(label, n).map((name) => berth.cli('run', '-d', '--network', 'none', '--name', name, image, ...SLEEP_ARGS));
  const { ms, stdouts } = await runAllAtOnce(cmds);
  return verified('berth', ms, stdouts.map((s) => s.trim()), berthStates(berth));
}

export async function berthCliRemoveAll(berth: BerthPeer, ids: readonly string[]): Promise<number> {
  const r = await runTimed(berth.cli('rm', '-f', ...ids));
  const left = new Set(lines(await output(berth.cli('ps', '-aq', '--no-trunc'))));
  const still = ids.filter((id) => left.has(id));
  if (still.length > 0) throw new Error(`berth rm -f: ${still.length} containers still listed afterwards`);
  return r.ms;
}

/** containerd: N `ctr run -d` at once; then `ctr tasks rm -f` + `ctr containers rm` of all. Exported for scenario 4. */
export async function ctrStartAll(containerd: ContainerdPeer, image: string, label: string, n: number): Promise<StartAll> {
  const ids = names(label, n);
  const { ms } = await runAllAtOnce(ids.map((id) => containerd.ctr('run', '-d', ...containerd.runArgs(), image, id, ...SLEEP_ARGS)));
  return verified('containerd', ms, ids, ctrStates(containerd));
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


async function berthNatsRound(nc: NatsConnection, berth: BerthPeer, image: string, label: string, n: number): Promise<{ start: number; remove: number; late?: LateStart }> {
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
  const { late } = await verified('berth (NATS API)', start, ids, berthStates(berth));
  const t1 = process.hrtime.bigint();
  const removed = await Promise.allSettled(ids.map((id) => requestJson(nc, REMOVE_SUBJECT, { namespace: berth.namespace, id, force: true }, 180_000)));
  const remove = Number(process.hrtime.bigint() - t1) / 1e6;
  const rmFailed = removed.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  if (rmFailed.length > 0) throw new Error(`${rmFailed.length} of ${n} containers.remove requests failed; first: ${rmFailed[0]}`);
  return { start, remove, ...(late ? { late } : {}) };
}

export const fanOutScenario: Scenario = {
  id: 3,
  title: 'containers started concurrently, then removed',
  needs: {},
  defaults: { warmup: 1, runs: 2, containers: 50 },
  quick: { warmup: 0, runs: 1, containers: 3, maxFailures: 1 },
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
      // Rounds whose containers were not all reported running when the starts returned (the time is kept; the wait is not timed).
      const late: { contestant: string; round: number; warmup: boolean; late: LateStart }[] = [];
      const noteLate = (contestant: string, slot: Slot, l: LateStart | undefined) => {
        if (l) late.push({ contestant, round: slot.round, warmup: slot.warmup, late: l });
      };
      const contestants: Contestant[] = [
        {
          name: 'berth',
          async sample(label, slot) {
            const started = await berthCliStartAll(berth, image, label, sized(slot));
            noteLate('berth', slot, started.late);
            return { start: started.ms, remove: await berthCliRemoveAll(berth, started.ids) };
          },
        },
        {
          name: 'berth (NATS API)',
          async sample(label, slot) {
            const r = await berthNatsRound(nc, berth, image, label, sized(slot));
            noteLate('berth (NATS API)', slot, r.late);
            return { start: r.start, remove: r.remove };
          },
        },
        {
          name: 'containerd',
          async sample(label, slot) {
            const started = await ctrStartAll(containerd, image, label, sized(slot));
            noteLate('containerd', slot, started.late);
            return { start: started.ms, remove: await ctrRemoveAll(containerd, started.ids) };
          },
        },
      ];
      const result = await runInterleaved(contestants.map(swept), { ...counts, signal: env.signal, labelPrefix: 'fan', maxFailures: counts.maxFailures ?? 2, onSample: progress(env.log, 3) });
      await sweep(env.berth, env.containerd);
      const samples = (metric: string) => samplesOf(result, metric);
      return {
        id: 3,
        title: `${n} ${this.title}`,
        method: [
          `Warm-up rounds start and remove ${WARMUP_CONTAINERS} containers.`,
          `Start: wall time from launching all ${n} starts at once until the last one returned (each returns once its container runs); then, untimed, every container must be reported running by its runtime (berth ps -a / ctr tasks ls) within ${RUNNING_GRACE_MS / 1000} s, or the round fails.`,
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
        ...(late.length > 0 ? { details: { notRunningRightAfterStart: late } } : {}),
        notes: late.map(
          (l) =>
            `${l.contestant}, ${l.warmup ? 'warm-up' : 'run'} ${l.round + 1}: right after every start had returned, not all containers were reported running (${describeStates(l.late.firstStates)}); all were after ${(l.late.waitedMs / 1000).toFixed(1)} s.`,
        ),
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

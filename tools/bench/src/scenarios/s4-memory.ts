// 4. Memory of the whole control plane with 0 and with N running containers.
// berth: nats-server, the five services and every conmon of its agent;
// containerd: the daemon and every containerd-shim-runc-v2 of its socket.
// The containers' own processes count for neither. Summed RSS and PSS (see
// memory.ts); per-container cost = (with N − with 0) / N, per sample pair.
import { sleep } from '../exec.js';
import { listProcesses, matchProcesses, MIB, readProcessMemory, sumMemory, type ProcessMemory } from '../memory.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import type { BenchEnv, Scenario } from '../scenario.js';
import { berthCliRemoveAll, berthCliStartAll, ctrRemoveAll, ctrStartAll, sweep, WARMUP_CONTAINERS } from './s3-fan-out.js';

export interface Member {
  kind: string;
  pid: number;
}

export interface MemorySample {
  rss: number;
  pss: number;
  byKind: Record<string, { processes: number; rssMiB: number; pssMiB: number }>;
}

/** One reading of a set of processes, in MiB, with a per-kind breakdown. Throws if PSS is unavailable. */
export function readMembers(members: readonly Member[], read: (pid: number) => ProcessMemory | undefined = readProcessMemory): MemorySample {
  const byKind: MemorySample['byKind'] = {};
  const all: ProcessMemory[] = [];
  for (const m of members) {
    const mem = read(m.pid);
    if (!mem) continue;
    if (mem.pssBytes === undefined) throw new Error(`no PSS for pid ${m.pid} (${m.kind}): this kernel has no /proc/<pid>/smaps_rollup`);
    all.push(mem);
    const k = (byKind[m.kind] ??= { processes: 0, rssMiB: 0, pssMiB: 0 });
    k.processes += 1;
    k.rssMiB += mem.rssBytes / MIB;
    k.pssMiB += mem.pssBytes / MIB;
  }
  const total = sumMemory(all);
  return { rss: total.rssBytes / MIB, pss: (total.pssBytes ?? 0) / MIB, byKind };
}

/** (with N − idle) / N for each pair of readings taken in the same order. Pure. */
export function perContainer(idle: readonly number[], loaded: readonly number[], n: number): number[] {
  const pairs = Math.min(idle.length, loaded.length);
  return Array.from({ length: pairs }, (_, i) => ((loaded[i] as number) - (idle[i] as number)) / n);
}

/**
 * The idle baseline for the per-container figure: for each reading, the lower
 * of the one before the containers started and the one after they were
 * removed. A garbage-collected heap can shrink by more than N containers
 * weigh while they run (an agent's PSS fell from 100 to 76 MiB in one run),
 * which made the figure negative; the lower baseline never flatters. Pure.
 */
export function idleBaseline(before: readonly number[], after: readonly number[]): number[] {
  const pairs = Math.min(before.length, after.length);
  return Array.from({ length: pairs }, (_, i) => Math.min(before[i] as number, after[i] as number));
}

interface Side {
  name: string;
  members(): Promise<Member[]>;
  start(label: string, n: number): Promise<string[]>;
  remove(ids: string[]): Promise<void>;
}

function berthSide(env: BenchEnv): Side {
  return {
    name: 'berth',
    members: async () => [
      ...(await env.berth.components()).map((c) => ({ kind: c.name, pid: c.pid })),
      ...env.berth.monitorPids().map((pid) => ({ kind: 'conmon', pid })),
    ],
    start: async (label, n) => (await berthCliStartAll(env.berth, env.fixtures.busybox, label, n)).ids,
    remove: async (ids) => void (await berthCliRemoveAll(env.berth, ids)),
  };
}

function containerdSide(env: BenchEnv): Side {
  const c = env.containerd;
  return {
    name: 'containerd',
    members: async () => [
      { kind: 'containerd', pid: c.pid },
      ...matchProcesses(listProcesses(), 'containerd-shim-runc-v2', [c.paths.address]).map((p) => ({ kind: 'containerd-shim-runc-v2', pid: p.pid })),
    ],
    start: async (label, n) => (await ctrStartAll(c, env.fixtures.busybox, label, n)).ids,
    remove: async (ids) => void (await ctrRemoveAll(c, ids)),
  };
}

/** "tasks 78.3 MiB, conmon ×50 92.1 MiB, …" from one reading's per-kind sums. Pure. */
export function breakdown(kinds: MemorySample['byKind'] | undefined): string {
  return Object.entries(kinds ?? {})
    .map(([kind, k]) => `${kind}${k.processes > 1 ? ` ×${k.processes}` : ''} ${k.pssMiB.toFixed(1)} MiB`)
    .join(', ');
}

async function readings(side: Side, k: number, intervalMs: number): Promise<MemorySample[]> {
  const out: MemorySample[] = [];
  for (let i = 0; i < k; i++) {
    if (i > 0) await sleep(intervalMs);
    out.push(readMembers(await side.members()));
  }
  return out;
}

export const memoryScenario: Scenario = {
  id: 4,
  title: 'control-plane memory, idle and with running containers',
  needs: {},
  defaults: { warmup: 1, runs: 5, containers: 50 },
  quick: { warmup: 0, runs: 2, containers: 3 },
  async run(env, counts) {
    const n = counts.containers ?? 50;
    const settleMs = counts.runs <= 2 ? 500 : 3000;
    const info: ContestantInfo[] = [
      { name: 'berth', kind: 'berth', how: 'nats-server + images, snapshots, networking, agent, tasks, the CLI host + one conmon per container' },
      { name: 'containerd', kind: 'peer', how: 'containerd + one containerd-shim-runc-v2 per container' },
    ];
    const idle: Record<string, MemorySample[]> = {};
    const idleAfter: Record<string, MemorySample[]> = {};
    const loaded: Record<string, MemorySample[]> = {};
    const errors: { contestant: string; round: number; warmup: boolean; message: string }[] = [];
    for (const side of [berthSide(env), containerdSide(env)]) {
      if (env.signal.aborted) break;
      try {
        // Warm-up: the same work once with a few containers, so that neither
        // side is measured with caches and heaps it has not grown yet.
        for (let w = 0; w < counts.warmup; w++) await side.remove(await side.start(`memw${w}`, Math.min(n, WARMUP_CONTAINERS)));
        await sleep(settleMs);
        idle[side.name] = await readings(side, counts.runs, 500);
        const ids = await side.start('memr', n);
        try {
          await sleep(settleMs);
          loaded[side.name] = await readings(side, counts.runs, 500);
        } finally {
          await side.remove(ids);
        }
        await sleep(settleMs);
        idleAfter[side.name] = await readings(side, counts.runs, 500);
        env.log(`[4] ${side.name}: PSS ${idle[side.name]?.at(-1)?.pss.toFixed(1)} MiB idle, ${loaded[side.name]?.at(-1)?.pss.toFixed(1)} MiB with ${n}`);
      } catch (err) {
        errors.push({ contestant: side.name, round: 0, warmup: false, message: (err as Error).message });
        await sweep(env.berth, env.containerd);
      }
    }
    const of = (set: Record<string, MemorySample[]>, key: 'pss' | 'rss') => (name: string) => set[name]?.map((s) => s[key]);
    const per = (key: 'pss' | 'rss') => (name: string) => {
      const before = idle[name]?.map((s) => s[key]);
      const after = idleAfter[name]?.map((s) => s[key]);
      const b = loaded[name]?.map((s) => s[key]);
      return before && after && b ? perContainer(idleBaseline(before, after), b, n) : undefined;
    };
    const last = (set: Record<string, MemorySample[]>) => Object.fromEntries(Object.entries(set).map(([k, v]) => [k, v.at(-1)?.byKind]));
    return {
      id: 4,
      title: this.title,
      method: [
        `Sum over the control plane’s processes of PSS (Pss of /proc/<pid>/smaps_rollup: shared pages divided among the processes sharing them) and of RSS (VmRSS of /proc/<pid>/status), read ${counts.runs} times 0.5 s apart, with 0 and with ${n} running busybox \`sleep 600\` containers (started as in scenario 3, after a ${settleMs / 1000} s settle).`,
        'berth: nats-server, the five services and every conmon of the stack’s agent; containerd: the daemon and every containerd-shim-runc-v2 serving its socket. Container processes themselves are not counted. Per container: (with N − with 0) / N per pair of readings, where "with 0" is the lower of the readings before the containers started and after they were removed (a service’s heap can shrink by more than N containers weigh).',
        'PSS is the fair measure for many copies of one binary (their code pages are shared); RSS counts shared pages once per process.',
      ],
      counts: { ...counts, containers: n },
      contestants: info,
      metrics: [
        buildMetric({ id: 'pss-idle', title: 'PSS, 0 containers', unit: 'MiB' }, info, of(idle, 'pss')),
        buildMetric({ id: 'pss-loaded', title: `PSS, ${n} containers`, unit: 'MiB' }, info, of(loaded, 'pss')),
        buildMetric({ id: 'pss-per-container', title: 'PSS per running container', unit: 'MiB' }, info, per('pss')),
        buildMetric({ id: 'rss-idle', title: 'RSS, 0 containers', unit: 'MiB' }, info, of(idle, 'rss')),
        buildMetric({ id: 'rss-loaded', title: `RSS, ${n} containers`, unit: 'MiB' }, info, of(loaded, 'rss')),
        buildMetric({ id: 'rss-per-container', title: 'RSS per running container', unit: 'MiB' }, info, per('rss')),
      ],
      errors,
      details: { byProcessKind: { idle: last(idle), [`with${n}`]: last(loaded) } },
      notes: [
        ...Object.entries(last(idle)).map(([name, kinds]) => `${name}, 0 containers, PSS by process: ${breakdown(kinds)}.`),
        ...Object.entries(last(loaded)).map(([name, kinds]) => `${name}, ${n} containers, PSS by process: ${breakdown(kinds)}.`),
      ],
    };
  },
};

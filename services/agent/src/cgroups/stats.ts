// Reading cpu, memory and pids figures from cgroup v1 or v2 files.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { ContainerCgroup } from './layout.js';

export interface CgroupStats {
  cgroupVersion: 1 | 2;
  memory: {
    /** Current usage, page cache included (memory.usage_in_bytes / memory.current). */
    usageBytes: number;
    /** Usage minus inactive file cache, as Docker and the kubelet report it. */
    workingSetBytes: number;
    /** null when unlimited. */
    limitBytes: number | null;
    /** Times the OOM killer killed a process in this cgroup (when the kernel reports it). */
    oomKills: number | undefined;
    /** Highest usage seen (v1 memory.max_usage_in_bytes, v2 memory.peak where the kernel has it). */
    maxUsageBytes?: number | undefined;
    /** Page cache (v1 total_cache, v2 file). */
    cacheBytes?: number | undefined;
    /** Anonymous memory (v1 total_rss, v2 anon). */
    rssBytes?: number | undefined;
    /** Swap in use (v1 total_swap, v2 memory.swap.current). */
    swapBytes?: number | undefined;
  };
  cpu: {
    /** Total CPU time consumed, in nanoseconds. */
    usageNs: number;
    userNs: number | undefined;
    systemNs: number | undefined;
    /** CFS quota periods and throttling (cpu.stat), when the cpu controller's files are readable. */
    throttling?: { periods: number; throttledPeriods: number; throttledTimeNs: number } | undefined;
  };
  pids: {
    current: number;
    /** null when unlimited. */
    limit: number | null;
  };
}

// v1 reports "no limit" as a page-rounded LONG_MAX.
const V1_UNLIMITED = 2 ** 62;
// cpuacct.stat is in USER_HZ ticks, 100 per second on Linux.
const NS_PER_TICK = 10_000_000;

async function readText(dir: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function readNumber(dir: string, file: string): Promise<number | undefined> {
  const t = (await readText(dir, file))?.trim();
  if (t === undefined || t === '') return undefined;
  if (t === 'max') return Infinity;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`${join(dir, file)}: not a number: ${JSON.stringify(t)}`);
  return n;
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat, memory.oom_control). */
export function parseKeyValues(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

async function requireDir(dir: string | undefined, what: string): Promise<string> {
  if (dir === undefined) throw new Error(`no ${what} cgroup hierarchy is mounted`);
  try {
    if ((await stat(dir)).isDirectory()) return dir;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  throw new Error(`cgroup ${dir} does not exist (the container's cgroup is gone)`);
}

function limitOrNull(n: number | undefined, unlimitedFrom: number): number | null {
  return n === undefined || n === Infinity || n >= unlimitedFrom ? null : n;
}

export async function readCgroupStats(cg: ContainerCgroup): Promise<CgroupStats> {
  const [memDir, cpuDir, pidsDir] = await Promise.all([
    requireDir(cg.memory, 'memory'),
    requireDir(cg.cpu, cg.version === 1 ? 'cpuacct' : 'cpu'),
    requireDir(cg.pids, 'pids'),
  ]);
  return cg.version === 1 ? readV1(memDir, cpuDir, pidsDir) : readV2(memDir, pidsDir);
}

async function readV1(memDir: string, cpuDir: string, pidsDir: string): Promise<CgroupStats> {
  const [usage, limit, maxUsage, memStat, oomControl, cpuUsage, cpuStat, cfsStat, pidsCurrent, pidsMax] = await Promise.all([
    readNumber(memDir, 'memory.usage_in_bytes'),
    readNumber(memDir, 'memory.limit_in_bytes'),
    readNumber(memDir, 'memory.max_usage_in_bytes'),
    readText(memDir, 'memory.stat'),
    readText(memDir, 'memory.oom_control'),
    readNumber(cpuDir, 'cpuacct.usage'),
    readText(cpuDir, 'cpuacct.stat'),
    // cpu and cpuacct are co-mounted on systemd hosts, so cpu.stat sits beside cpuacct.*.
    readText(cpuDir, 'cpu.stat'),
    readNumber(pidsDir, 'pids.current'),
    readNumber(pidsDir, 'pids.max'),
  ]);
  const ms = parseKeyValues(memStat);
  const inactive = ms.get('total_inactive_file') ?? ms.get('inactive_file') ?? 0;
  const cs = parseKeyValues(cpuStat);
  const user = cs.get('user');
  const system = cs.get('system');
  const usageBytes = usage ?? 0;
  return {
    cgroupVersion: 1,
    memory: {
      usageBytes,
      workingSetBytes: Math.max(0, usageBytes - inactive),
      limitBytes: limitOrNull(limit, V1_UNLIMITED),
      oomKills: parseKeyValues(oomControl).get('oom_kill'),
      maxUsageBytes: maxUsage,
      cacheBytes: ms.get('total_cache') ?? ms.get('cache'),
      rssBytes: ms.get('total_rss') ?? ms.get('rss'),
      swapBytes: ms.get('total_swap') ?? ms.get('swap'),
    },
    cpu: {
      usageNs: cpuUsage ?? 0,
      userNs: user === undefined ? undefined : user * NS_PER_TICK,
      systemNs: system === undefined ? undefined : system * NS_PER_TICK,
      throttling: throttling(parseKeyValues(cfsStat), 1),
    },
    pids: { current: pidsCurrent ?? 0, limit: limitOrNull(pidsMax, Infinity) },
  };
}

async function readV2(dir: string, pidsDir: string): Promise<CgroupStats> {
  const [current, max, peak, swap, memStat, events, cpuStat, pidsCurrent, pidsMax] = await Promise.all([
    readNumber(dir, 'memory.current'),
    readNumber(dir, 'memory.max'),
    readNumber(dir, 'memory.peak'),
    readNumber(dir, 'memory.swap.current'),
    readText(dir, 'memory.stat'),
    readText(dir, 'memory.events'),
    readText(dir, 'cpu.stat'),
    readNumber(pidsDir, 'pids.current'),
    readNumber(pidsDir, 'pids.max'),
  ]);
  const ms = parseKeyValues(memStat);
  const cs = parseKeyValues(cpuStat);
  const usec = (k: string): number | undefined => {
    const v = cs.get(k);
    return v === undefined ? undefined : v * 1000;
  };
  const usageBytes = current ?? 0;
  return {
    cgroupVersion: 2,
    memory: {
      usageBytes,
      workingSetBytes: Math.max(0, usageBytes - (ms.get('inactive_file') ?? 0)),
      limitBytes: limitOrNull(max, Infinity),
      oomKills: parseKeyValues(events).get('oom_kill'),
      maxUsageBytes: peak,
      cacheBytes: ms.get('file'),
      rssBytes: ms.get('anon'),
      swapBytes: swap,
    },
    cpu: { usageNs: usec('usage_usec') ?? 0, userNs: usec('user_usec'), systemNs: usec('system_usec'), throttling: throttling(cs, 2) },
    pids: { current: pidsCurrent ?? 0, limit: limitOrNull(pidsMax, Infinity) },
  };
}

/** cpu.stat's throttling counters; v1 reports time in ns, v2 in µs. */
function throttling(cs: Map<string, number>, version: 1 | 2): NonNullable<CgroupStats['cpu']['throttling']> | undefined {
  const periods = cs.get('nr_periods');
  const throttled = cs.get('nr_throttled');
  const time = version === 1 ? cs.get('throttled_time') : cs.get('throttled_usec');
  if (periods === undefined || throttled === undefined || time === undefined) return undefined;
  return { periods, throttledPeriods: throttled, throttledTimeNs: version === 1 ? time : time * 1000 };
}

// Facts about the host the agent runs on: capacity, CPU time, kernel.
import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';

export interface NodeCapacityFacts {
  cpus: number;
  memoryBytes: number;
  /** kernel.pid_max. */
  pids: number;
}

export async function nodeCapacity(): Promise<NodeCapacityFacts> {
  const pidMax = Number((await readFile('/proc/sys/kernel/pid_max', 'utf8')).trim());
  return { cpus: availableParallelism(), memoryBytes: totalmem(), pids: Number.isSafeInteger(pidMax) ? pidMax : 0 };
}

/** USER_HZ: /proc/stat and /proc/<pid>/stat count CPU time in these ticks (100 per second on Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SECOND;

/** Parses the "cpu" line of /proc/stat into the host's total CPU time in ns (as Docker's system_cpu_usage). Pure. */
export function hostCpuTimeNs(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu" line');
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return ticks.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) * NS_PER_TICK;
}

/** Boot time in ms since the epoch, from /proc/stat's btime. Pure. */
export function bootTimeMs(procStat: string): number {
  const m = /^btime\s+(\d+)$/m.exec(procStat);
  if (!m?.[1]) throw new Error('/proc/stat has no "btime" line');
  return Number(m[1]) * 1000;
}

export async function readProcStat(): Promise<string> {
  return readFile('/proc/stat', 'utf8');
}

// Resource samples as `stats` shows them. CPU % needs two samples: the
// task's CPU time over the host's in between, times the online CPUs (Docker's formula).
import type * as types from '@berth/api/types';
import { binarySize, humanSize, shortId } from './units.js';

export function cpuPercent(prev: types.CpuStats | undefined, cur: types.CpuStats | undefined): number {
  if (!prev || !cur) return 0;
  const cpuDelta = cur.usageTotalNs - prev.usageTotalNs;
  const systemDelta = cur.systemUsageNs - prev.systemUsageNs;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * Math.max(1, cur.onlineCpus) * 100;
}

/** Memory as Docker counts it: usage without the page cache. */
export const memoryUsed = (m: types.MemoryStats | undefined): number => Math.max(0, (m?.usageBytes ?? 0) - (m?.cacheBytes ?? 0));

export interface StatsRow {
  id: string;
  name: string;
  cpu: number;
  memUsed: number;
  memLimit: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

/** One container's row from its previous and current sample; an unlimited memory limit shows the host's memory. */
export function statsRow(prev: types.TaskStats | undefined, cur: types.TaskStats, name: string, hostMemory: number): StatsRow {
  const sum = (f: (n: types.NetworkInterfaceStats) => number) => cur.networks.reduce((a, n) => a + f(n), 0);
  return {
    id: cur.containerId,
    name,
    cpu: cpuPercent(prev?.cpu, cur.cpu),
    memUsed: memoryUsed(cur.memory),
    memLimit: cur.memory?.limitBytes || hostMemory,
    netRx: sum((n) => n.rxBytes),
    netTx: sum((n) => n.txBytes),
    blockRead: cur.blockIo?.readBytes ?? 0,
    blockWrite: cur.blockIo?.writeBytes ?? 0,
    pids: cur.pids?.current ?? 0,
  };
}

const pct = (n: number) => `${n.toFixed(2)}%`;

export const STATS_COLUMNS = [
  { header: 'CONTAINER ID', cell: (r: StatsRow) => shortId(r.id) },
  { header: 'NAME', cell: (r: StatsRow) => r.name },
  { header: 'CPU %', cell: (r: StatsRow) => pct(r.cpu) },
  { header: 'MEM USAGE / LIMIT', cell: (r: StatsRow) => `${binarySize(r.memUsed)} / ${binarySize(r.memLimit)}` },
  { header: 'MEM %', cell: (r: StatsRow) => pct(r.memLimit > 0 ? (r.memUsed / r.memLimit) * 100 : 0) },
  { header: 'NET I/O', cell: (r: StatsRow) => `${humanSize(r.netRx)} / ${humanSize(r.netTx)}` },
  { header: 'BLOCK I/O', cell: (r: StatsRow) => `${humanSize(r.blockRead)} / ${humanSize(r.blockWrite)}` },
  { header: 'PIDS', cell: (r: StatsRow) => String(r.pids) },
];

/** What --format json prints and templates see. */
export const statsObject = (r: StatsRow) => ({
  ID: r.id,
  Name: r.name,
  CPUPerc: pct(r.cpu),
  MemUsage: `${binarySize(r.memUsed)} / ${binarySize(r.memLimit)}`,
  MemPerc: pct(r.memLimit > 0 ? (r.memUsed / r.memLimit) * 100 : 0),
  NetIO: `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`,
  BlockIO: `${humanSize(r.blockRead)} / ${humanSize(r.blockWrite)}`,
  PIDs: r.pids,
  CPU: r.cpu,
  MemoryBytes: r.memUsed,
  MemoryLimitBytes: r.memLimit,
});

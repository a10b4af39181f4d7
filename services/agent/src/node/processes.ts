// What `top` shows about a container's processes, and the network counters of
// its network namespace, read from /proc. Parsers are pure; readers skip a
// process that ends while it is being read.
import { readFile, readlink } from 'node:fs/promises';
import { errnoCode } from '../errors.js';
import { CLOCK_TICKS_PER_SECOND } from './host.js';

export interface ProcessFacts {
  pid: number;
  ppid: number;
  uid: number;
  args: string[];
  /** ms since the epoch. */
  startedAtMs: number;
  cpuTimeNs: number;
  rssBytes: number;
}

interface StatFields {
  ppid: number;
  utime: number;
  stime: number;
  starttime: number;
}

/** /proc/<pid>/stat: the fields after the parenthesised command (which may hold spaces and parentheses). Pure. */
export function parseProcStat(text: string): StatFields {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15, starttime 22.
  const field = (n: number): number => Number(rest[n - 3]);
  return { ppid: field(4), utime: field(14), stime: field(15), starttime: field(22) };
}

/** The real uid and VmRSS (bytes) from /proc/<pid>/status. Pure. */
export function parseProcStatus(text: string): { uid: number; rssBytes: number } {
  const uid = /^Uid:\s+(\d+)/m.exec(text)?.[1];
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(text)?.[1];
  return { uid: uid === undefined ? 0 : Number(uid), rssBytes: rss === undefined ? 0 : Number(rss) * 1024 };
}

async function readProcFile(pid: number, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
}

/** The process' facts, or undefined once it is gone. */
export async function readProcess(pid: number, bootTimeMs: number): Promise<ProcessFacts | undefined> {
  const [stat, status, cmdline] = await Promise.all([
    readProcFile(pid, 'stat'),
    readProcFile(pid, 'status'),
    readProcFile(pid, 'cmdline'),
  ]);
  if (stat === undefined || status === undefined || cmdline === undefined) return undefined;
  const s = parseProcStat(stat);
  const st = parseProcStatus(status);
  const msPerTick = 1000 / CLOCK_TICKS_PER_SECOND;
  return {
    pid,
    ppid: s.ppid,
    uid: st.uid,
    args: cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1),
    startedAtMs: bootTimeMs + s.starttime * msPerTick,
    cpuTimeNs: (s.utime + s.stime) * msPerTick * 1e6,
    rssBytes: st.rssBytes,
  };
}

/**
 * The exec session each process belongs to: an exec's own pid, or a
 * descendant of one (walking parents within the container). Pure.
 */
export function execIdsByPid(processes: ReadonlyArray<{ pid: number; ppid: number }>, execPids: ReadonlyMap<number, string>): Map<number, string> {
  const parent = new Map(processes.map((p) => [p.pid, p.ppid]));
  const out = new Map<number, string>();
  for (const p of processes) {
    let cur: number | undefined = p.pid;
    for (let guard = 0; cur !== undefined && guard < 4096; guard++) {
      const exec = execPids.get(cur);
      if (exec !== undefined) {
        out.set(p.pid, exec);
        break;
      }
      cur = parent.get(cur);
    }
  }
  return out;
}

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/<pid>/net/dev, loopback left out. Pure. */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out.push({
      name,
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    });
  }
  return out;
}

/**
 * The interfaces of the network namespace `pid` lives in; empty when that is
 * the host's own namespace (the container shares the host's network).
 */
export async function readNetworkCounters(pid: number): Promise<InterfaceCounters[]> {
  const [theirs, ours] = await Promise.all([
    readlink(`/proc/${pid}/ns/net`).catch(() => undefined),
    readlink('/proc/self/ns/net').catch(() => undefined),
  ]);
  if (theirs === undefined || theirs === ours) return [];
  const text = await readProcFile(pid, 'net/dev');
  return text === undefined ? [] : parseNetDev(text);
}

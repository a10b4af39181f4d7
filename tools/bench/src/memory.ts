// Memory of a set of processes, from /proc. Two measures, both summed over
// the processes: RSS (VmRSS of /proc/<pid>/status: every resident page the
// process maps, shared ones counted in full by each process) and PSS (Pss of
// /proc/<pid>/smaps_rollup: a page shared by k processes counts 1/k for
// each). PSS is the fair one for 50 monitors or shims of one binary, whose
// code pages are shared; RSS is what `ps` shows.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessMemory {
  pid: number;
  rssBytes: number;
  /** Undefined when the kernel has no smaps_rollup. */
  pssBytes: number | undefined;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** argv as the kernel keeps it (/proc/<pid>/cmdline). */
  argv: string[];
}

/** A "<Field>:  <n> kB" line of /proc status or smaps files, in bytes. Pure. */
export function parseKbField(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** VmRSS of /proc/<pid>/status, in bytes; 0 for a kernel thread or zombie (no VmRSS line). Pure. */
export function parseVmRss(status: string): number {
  return parseKbField(status, 'VmRSS') ?? 0;
}

/** Pss of /proc/<pid>/smaps_rollup, in bytes. Pure. */
export function parsePss(smapsRollup: string): number | undefined {
  return parseKbField(smapsRollup, 'Pss');
}

/** PPid of /proc/<pid>/status. Pure. */
export function parsePpid(status: string): number {
  const m = /^PPid:\s+(\d+)$/m.exec(status);
  return m ? Number(m[1]) : 0;
}

/** Memory of one live process; undefined when it has gone. */
export function readProcessMemory(pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    let pss: number | undefined;
    try {
      pss = parsePss(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    } catch {
      pss = undefined;
    }
    return { pid, rssBytes: parseVmRss(status), pssBytes: pss };
  } catch {
    return undefined;
  }
}

export interface MemoryTotal {
  rssBytes: number;
  /** Undefined if any process lacked smaps_rollup. */
  pssBytes: number | undefined;
  processes: number;
}

/** Sums memory over processes. Pure. */
export function sumMemory(list: readonly ProcessMemory[]): MemoryTotal {
  let rss = 0;
  let pss: number | undefined = 0;
  for (const p of list) {
    rss += p.rssBytes;
    pss = pss === undefined || p.pssBytes === undefined ? undefined : pss + p.pssBytes;
  }
  return { rssBytes: rss, pssBytes: pss, processes: list.length };
}

/** Every process the kernel lists (those that vanish while reading are skipped). */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
      const ppid = parsePpid(readFileSync(`/proc/${name}/status`, 'utf8'));
      out.push({ pid: Number(name), ppid, argv });
    } catch {
      // gone in the meantime
    }
  }
  return out;
}

/** Processes whose argv[0] ends in `program` and whose argv contains every one of `args` (in any position). Pure. */
export function matchProcesses(list: readonly ProcessInfo[], program: string, args: readonly string[] = []): ProcessInfo[] {
  return list.filter((p) => {
    const exe = p.argv[0] ?? '';
    if (exe !== program && !exe.endsWith(`/${program}`)) return false;
    return args.every((a) => p.argv.some((v) => v === a || v.includes(a)));
  });
}

export const MIB = 2 ** 20;

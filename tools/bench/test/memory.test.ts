import { describe, expect, it } from 'vitest';
import { listProcesses, matchProcesses, parseKbField, parsePpid, parsePss, parseVmRss, readProcessMemory, sumMemory } from '../src/memory.js';
import { breakdown, idleBaseline, perContainer, readMembers } from '../src/scenarios/s4-memory.js';

const STATUS = `Name:\tconmon
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
PPid:\t1
VmPeak:\t   12000 kB
VmRSS:\t    1640 kB
RssAnon:\t     112 kB
`;

const ROLLUP = `556a6d8d8000-7fff5f381000 ---p 00000000 00:00 0                          [rollup]
Rss:                1640 kB
Pss:                 261 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
`;

describe('/proc parsing', () => {
  it('reads VmRSS and PPid of a status file', () => {
    expect(parseVmRss(STATUS)).toBe(1640 * 1024);
    expect(parsePpid(STATUS)).toBe(1);
  });

  it('takes Pss, not Pss_Dirty or Pss_Anon, from smaps_rollup', () => {
    expect(parsePss(ROLLUP)).toBe(261 * 1024);
    expect(parseKbField(ROLLUP, 'Pss_Anon')).toBe(112 * 1024);
  });

  it('gives 0 RSS for a kernel thread and undefined PSS when absent', () => {
    expect(parseVmRss('Name:\tkthreadd\nPPid:\t0\n')).toBe(0);
    expect(parsePss('Rss: 4 kB\n')).toBeUndefined();
  });

  it('reads this very process', () => {
    const me = readProcessMemory(process.pid);
    expect(me?.rssBytes).toBeGreaterThan(0);
    expect(me?.pssBytes).toBeGreaterThan(0);
    expect(me!.pssBytes!).toBeLessThanOrEqual(me!.rssBytes);
  });

  it('gives undefined for a process that does not exist', () => {
    expect(readProcessMemory(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('sums', () => {
  it('adds RSS and PSS over processes', () => {
    expect(
      sumMemory([
        { pid: 1, rssBytes: 100, pssBytes: 50 },
        { pid: 2, rssBytes: 30, pssBytes: 10 },
      ]),
    ).toEqual({ rssBytes: 130, pssBytes: 60, processes: 2 });
  });

  it('has no PSS sum when one process lacks it', () => {
    expect(sumMemory([{ pid: 1, rssBytes: 1, pssBytes: undefined }]).pssBytes).toBeUndefined();
  });

  it('sums members in MiB per kind and skips processes that have gone', () => {
    const mib = 2 ** 20;
    const fake: Record<number, { rss: number; pss: number }> = { 10: { rss: 100, pss: 60 }, 11: { rss: 2, pss: 1 }, 12: { rss: 2, pss: 1 } };
    const sample = readMembers(
      [
        { kind: 'tasks', pid: 10 },
        { kind: 'conmon', pid: 11 },
        { kind: 'conmon', pid: 12 },
        { kind: 'conmon', pid: 13 },
      ],
      (pid) => (fake[pid] ? { pid, rssBytes: fake[pid]!.rss * mib, pssBytes: fake[pid]!.pss * mib } : undefined),
    );
    expect(sample.rss).toBe(104);
    expect(sample.pss).toBe(62);
    expect(sample.byKind).toEqual({ tasks: { processes: 1, rssMiB: 100, pssMiB: 60 }, conmon: { processes: 2, rssMiB: 4, pssMiB: 2 } });
    expect(breakdown(sample.byKind)).toBe('tasks 60.0 MiB, conmon ×2 2.0 MiB');
  });

  it('refuses to sum when PSS is missing (the two sides must use the same measure)', () => {
    expect(() => readMembers([{ kind: 'x', pid: 1 }], () => ({ pid: 1, rssBytes: 1, pssBytes: undefined }))).toThrow(/no PSS for pid 1 \(x\)/);
  });

  it('computes the per-container increment per pair of readings', () => {
    expect(perContainer([100, 110], [200, 160, 999], 50)).toEqual([2, 1]);
    // the lower idle reading of before and after: a heap that shrank meanwhile cannot make a container weigh less than nothing
    expect(idleBaseline([415, 420], [390, 430, 1])).toEqual([390, 420]);
    expect(perContainer(idleBaseline([415], [390]), [405], 50)).toEqual([0.3]);
  });
});

describe('process matching', () => {
  const list = [
    { pid: 1, ppid: 0, argv: ['/sbin/init'] },
    { pid: 2, ppid: 1, argv: ['/usr/bin/conmon', '--exit-dir', '/tmp/berth-bench-state-a/agent/exits'] },
    { pid: 3, ppid: 1, argv: ['/usr/bin/conmon', '--exit-dir', '/var/lib/berth/agent/exits'] },
    { pid: 4, ppid: 1, argv: ['containerd-shim-runc-v2', '-namespace', 'bench', '-address', '/tmp/c/containerd.sock'] },
    { pid: 5, ppid: 1, argv: ['/usr/bin/conmonx', '/tmp/berth-bench-state-a'] },
  ];

  it('matches by program name and arguments, including substrings of one', () => {
    expect(matchProcesses(list, 'conmon', ['/tmp/berth-bench-state-a']).map((p) => p.pid)).toEqual([2]);
    expect(matchProcesses(list, 'containerd-shim-runc-v2', ['/tmp/c/containerd.sock']).map((p) => p.pid)).toEqual([4]);
    expect(matchProcesses(list, 'conmon').map((p) => p.pid)).toEqual([2, 3]);
  });

  it('lists the real processes, this one among them', () => {
    const me = listProcesses().find((p) => p.pid === process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.argv[0]).toMatch(/node/);
  });
});

import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../src/machine.js';
import { buildMetric, ratiosOf, type BenchReport, type ContestantInfo } from '../src/report.js';
import { alignedTable, formatNumber, formatRatio, machineLine, markdownFailure, markdownTable, renderMarkdown, renderText, resultRows } from '../src/table.js';

const info: ContestantInfo[] = [
  { name: 'berth', kind: 'berth', how: 'berth run' },
  { name: 'containerd', kind: 'peer', how: 'ctr run' },
  { name: 'runc', kind: 'floor', how: 'runc run' },
];
const samples: Record<string, number[]> = { berth: [30, 10, 20], containerd: [5, 15, 10], runc: [2, 2, 2] };

const machine: MachineInfo = {
  cpuModel: 'Test CPU',
  cores: 2,
  memoryBytes: 4 * 2 ** 30,
  kernel: '6.1.0',
  os: 'Debian GNU/Linux 12 (bookworm)',
  versions: { node: 'v20.20.0', containerd: '1.6.20', ctr: '1.6.20', runc: '1.1.5', conmon: '2.1.6', natsServer: '2.9.10', berth: '0.1.0' },
  date: '2026-01-01T00:00:00.000Z',
  loadAverage: { start: [0.5, 0.4, 0.3], end: [1, 0.5, 0.25] },
};

function report(): BenchReport {
  return {
    schema: 'berth-bench/1',
    command: 'node tools/bench/dist/bin.js --scenarios 1',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    quick: false,
    machine,
    scenarios: [
      {
        id: 1,
        title: 'run --rm busybox echo hello',
        method: ['Wall time.', 'Interleaved.'],
        counts: { warmup: 1, runs: 3 },
        contestants: info,
        metrics: [buildMetric({ id: 'wall', title: 'run --rm echo hello', unit: 'ms' }, info, (n) => samples[n])],
        errors: [{ contestant: 'containerd', round: 3, warmup: false, message: 'ctr: boom\nsecond line' }],
        notes: ['berth rmi left 1 snapshot'],
        durationMs: 1234,
      },
    ],
  };
}

describe('buildMetric and ratios', () => {
  it('summarizes each contestant and divides berth’s median by every other one’s', () => {
    const m = buildMetric({ id: 'wall', title: 't', unit: 'ms' }, info, (n) => samples[n]);
    expect(m.contestants.map((c) => [c.name, c.kind, c.summary?.median])).toEqual([
      ['berth', 'berth', 20],
      ['containerd', 'peer', 10],
      ['runc', 'floor', 2],
    ]);
    expect(m.ratios).toEqual([
      { berth: 'berth', peer: 'containerd', value: 2 },
      { berth: 'berth', peer: 'runc', value: 10 },
    ]);
  });

  it('keeps a contestant without samples, with no summary and no ratio', () => {
    const m = buildMetric({ id: 'wall', title: 't', unit: 'ms' }, info, (n) => (n === 'containerd' ? undefined : samples[n]));
    expect(m.contestants[1]).toEqual({ name: 'containerd', kind: 'peer', samples: [] });
    expect(m.ratios.map((r) => r.peer)).toEqual(['runc']);
  });

  it('gives each berth variant its own ratios, never berth against berth', () => {
    const two: ContestantInfo[] = [...info.slice(0, 2), { name: 'berth (NATS API)', kind: 'berth', how: 'nats' }];
    const m = buildMetric({ id: 'x', title: 'x', unit: 'ms' }, two, (n) => (n === 'berth (NATS API)' ? [5] : samples[n]));
    expect(ratiosOf(m.contestants)).toEqual([
      { berth: 'berth', peer: 'containerd', value: 2 },
      { berth: 'berth (NATS API)', peer: 'containerd', value: 0.5 },
    ]);
  });
});

describe('number formatting', () => {
  it('shows as many decimals as the size warrants', () => {
    expect(formatNumber(1234.56)).toBe('1235');
    expect(formatNumber(123.4)).toBe('123');
    expect(formatNumber(12.345)).toBe('12.3');
    expect(formatNumber(1.2345)).toBe('1.23');
    expect(formatNumber(0.004)).toBe('0.00');
    expect(formatRatio(6.214)).toBe('6.21×');
  });
});

describe('tables', () => {
  it('aligns columns, numbers to the right, with a rule under the header', () => {
    const text = alignedTable(
      [
        ['name', 'ms'],
        ['berth', '1234'],
        ['ctr', '5'],
      ],
      ['left', 'right'],
    );
    expect(text.split('\n')).toEqual(['name     ms', '-----  ----', 'berth  1234', 'ctr       5']);
  });

  it('writes a Markdown table with alignment markers and escaped pipes', () => {
    const md = markdownTable(
      [
        ['a', 'b'],
        ['x|y', '1'],
      ],
      ['left', 'right'],
    );
    expect(md.split('\n')).toEqual(['| a | b |', '| --- | ---: |', '| x\\|y | 1 |']);
  });

  it('has one row per contestant, the scenario and measurement named once, ratios on berth’s row', () => {
    const rows = resultRows(report());
    expect(rows).toHaveLength(4);
    expect(rows[1]).toEqual(['1', 'run --rm echo hello', 'ms', 'berth', '3', '10.0', '20.0', '30.0', '29.8', '2.00× vs containerd, 10.0× vs runc']);
    expect(rows[2]?.slice(0, 4)).toEqual(['', '', '', 'containerd']);
    expect(rows[2]?.[9]).toBe('');
  });

  it('renders text with the machine, the table, notes and failures', () => {
    const text = renderText(report());
    expect(text).toContain('Test CPU, 2 cores, 4.0 GiB, Debian GNU/Linux 12 (bookworm), kernel 6.1.0');
    expect(text).toContain('containerd 1.6.20, runc 1.1.5');
    expect(text).toMatch(/^1 +run --rm echo hello +ms +berth +3 +10\.0 +20\.0 +30\.0 +29\.8 +2\.00× vs containerd, 10\.0× vs runc$/m);
    expect(text).toContain('1: berth rmi left 1 snapshot');
    expect(text).toContain('scenario 1, containerd, run 4: ctr: boom\n    second line');
  });

  it('renders Markdown with the command, the table, notes, failures and methods', () => {
    const md = renderMarkdown(report());
    expect(md).toContain('Produced by `node tools/bench/dist/bin.js --scenarios 1`');
    expect(md).toContain('| 1 | run --rm echo hello | ms | berth | 3 | 10.0 | 20.0 | 30.0 | 29.8 | 2.00× vs containerd, 10.0× vs runc |');
    expect(md).toContain('- 1: berth rmi left 1 snapshot');
    expect(md).toContain('- scenario 1, containerd, run 4: ctr: boom\n\n  ```\n  second line\n  ```');
    expect(md).toContain('1. **run --rm busybox echo hello** — Wall time. Interleaved.');
  });

  it('marks a contestant without samples as failed', () => {
    const r = report();
    r.scenarios[0]!.metrics = [buildMetric({ id: 'wall', title: 'w', unit: 'ms' }, info, (n) => (n === 'runc' ? [] : samples[n]))];
    expect(resultRows(r)[3]).toEqual(['', '', '', 'runc', '0', '—', 'failed', '—', '—', '']);
  });
});

describe('machine and failure lines', () => {
  it('names the commit measured when known', () => {
    expect(machineLine(machine)).not.toContain('commit');
    expect(machineLine({ ...machine, gitCommit: '898d6c2-dirty' })).toContain('berth 0.1.0 (commit 898d6c2-dirty);');
  });

  it('keeps a one-line failure on one line and clips a long output', () => {
    expect(markdownFailure('scenario 1, berth, run 1: boom')).toBe('- scenario 1, berth, run 1: boom');
    const long = markdownFailure(`x\n${'y'.repeat(2000)}`);
    expect(long).toContain('…');
    expect(long.length).toBeLessThan(1300);
  });
});

describe('JSON report', () => {
  it('survives a JSON round trip unchanged (what --json writes)', () => {
    const r = report();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

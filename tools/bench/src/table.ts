// The report as text: an aligned table for the terminal and the same table
// in Markdown (for the README and results/latest.md). Pure.
import type { BenchReport, MetricReport, ScenarioReport } from './report.js';
import type { MachineInfo } from './machine.js';

export type Align = 'left' | 'right';

/** Pads every cell to its column's width; the first row is the header, followed by a rule. */
export function alignedTable(rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(0, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (cell: string, i: number) => {
    const gap = ' '.repeat((widths[i] as number) - [...cell].length);
    return align[i] === 'right' ? gap + cell : cell + gap;
  };
  const line = (r: readonly string[]) => widths.map((_, i) => pad(r[i] ?? '', i)).join('  ').trimEnd();
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const [head, ...body] = rows;
  if (!head) return '';
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const line = (r: readonly string[]) => `| ${head.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`;
  const rule = `|${head.map((_, i) => (align[i] === 'right' ? ' ---: ' : ' --- ')).join('|')}|`;
  return [line(head), rule, ...body.map(line)].join('\n');
}

/** A number with as many decimals as its size warrants: 1234, 123, 12.3, 1.23. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function formatRatio(v: number): string {
  return `${formatNumber(v)}×`;
}

const HEADER = ['#', 'measurement', 'unit', 'contestant', 'n', 'min', 'median', 'max', 'p99', 'berth/peer (medians)'];
const ALIGN: Align[] = ['right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'];

function metricRows(scenario: ScenarioReport, metric: MetricReport, firstOfScenario: boolean): string[][] {
  return metric.contestants.map((c, i) => {
    const s = c.summary;
    const ratios = metric.ratios.filter((r) => r.berth === c.name).map((r) => `${formatRatio(r.value)} vs ${r.peer}`);
    return [
      firstOfScenario && i === 0 ? String(scenario.id) : '',
      i === 0 ? metric.title : '',
      i === 0 ? metric.unit : '',
      c.name,
      String(c.samples.length),
      s ? formatNumber(s.min) : '—',
      s ? formatNumber(s.median) : 'failed',
      s ? formatNumber(s.max) : '—',
      s ? formatNumber(s.p99) : '—',
      ratios.join(', '),
    ];
  });
}

/** Header plus one row per contestant per measurement, scenarios in order. */
export function resultRows(report: Pick<BenchReport, 'scenarios'>): string[][] {
  const rows: string[][] = [HEADER];
  for (const sc of report.scenarios) {
    sc.metrics.forEach((m, i) => rows.push(...metricRows(sc, m, i === 0)));
  }
  return rows;
}

export function machineLine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  const v = m.versions;
  return (
    `${m.cpuModel}, ${m.cores} cores, ${gib} GiB, ${m.os}, kernel ${m.kernel}; ` +
    `node ${v.node}, containerd ${v.containerd}, runc ${v.runc}, conmon ${v.conmon}, nats-server ${v.natsServer}, berth ${v.berth}` +
    `${m.gitCommit ? ` (commit ${m.gitCommit})` : ''}; ` +
    `load average ${m.loadAverage.start.map((l) => l.toFixed(2)).join(' ')} at start, ${m.loadAverage.end.map((l) => l.toFixed(2)).join(' ')} at end`
  );
}

/** A failure as a list item: its first line, the rest (the command's output) as an indented code block. Pure. */
export function markdownFailure(text: string): string {
  const [first, ...rest] = text.split('\n');
  const detail = rest.map((l) => l.trim()).filter(Boolean);
  if (detail.length === 0) return `- ${first}`;
  const body = detail.join('\n');
  const clipped = body.length > 1200 ? `${body.slice(0, 1200)}…` : body;
  return [`- ${first}`, '', '  ```', ...clipped.split('\n').map((l) => `  ${l}`), '  ```'].join('\n');
}

function noteLines(report: Pick<BenchReport, 'scenarios'>): string[] {
  return report.scenarios.flatMap((sc) => (sc.notes ?? []).map((n) => `${sc.id}: ${n}`));
}

function errorLines(report: Pick<BenchReport, 'scenarios'>): string[] {
  const lines: string[] = [];
  for (const sc of report.scenarios) {
    for (const e of sc.errors) {
      lines.push(`scenario ${sc.id}, ${e.contestant}, ${e.warmup ? 'warm-up' : 'run'} ${e.round + 1}: ${e.message}`);
    }
  }
  return lines;
}

/** The terminal rendering: what ran where, the table, then any failures. */
export function renderText(report: BenchReport): string {
  const out = [`berth benchmark, ${report.finishedAt}${report.quick ? ' (--quick: tiny counts, not for comparison)' : ''}${report.interrupted ? ` (interrupted by ${report.interrupted}: incomplete)` : ''}`];
  out.push(`machine: ${machineLine(report.machine)}`, '', alignedTable(resultRows(report), ALIGN));
  const notes = noteLines(report);
  if (notes.length > 0) out.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  const errors = errorLines(report);
  if (errors.length > 0) out.push('', 'failures:', ...errors.map((e) => `  ${e.replace(/\n/g, '\n    ')}`));
  return `${out.join('\n')}\n`;
}

/** The Markdown rendering (results/latest.md, the README's performance section). */
export function renderMarkdown(report: BenchReport): string {
  const out = [
    `# berth benchmark results`,
    '',
    `Produced by \`${report.command}\` on ${report.finishedAt}${report.quick ? ' with --quick (tiny counts, not for comparison)' : ''}.`,
    '',
    `Machine: ${machineLine(report.machine)}.`,
    '',
    'Times are wall-clock milliseconds per sample; memory is MiB. The ratio is berth’s median over the other',
    'contestant’s median: below 1 berth is faster (or lighter), above 1 it is slower (or heavier).',
    '',
    markdownTable(resultRows(report), ALIGN),
  ];
  const notes = noteLines(report);
  if (notes.length > 0) out.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  const errors = errorLines(report);
  if (errors.length > 0) out.push('', '## Failures', '', ...errors.map(markdownFailure));
  out.push('', '## Methods', '');
  for (const sc of report.scenarios) {
    out.push(`${sc.id}. **${sc.title}** — ${sc.method.join(' ')}`);
  }
  return `${out.join('\n')}\n`;
}

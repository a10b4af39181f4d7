#!/usr/bin/env node
// berth-bench: the table on stdout, progress on stderr, optionally JSON and
// Markdown files. Exit status 0: every sample ran; 2: some failed (they are
// in the report); 1: the harness itself could not run; 64: bad usage;
// 130/143: interrupted (what was measured until then is still printed).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runBench } from './harness.js';
import { parseBenchArgs, USAGE, UsageError } from './options.js';
import type { BenchReport } from './report.js';
import { renderMarkdown, renderText } from './table.js';

const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${msg}\n`);

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`berth-bench: ${err.message}\n\n${USAGE}`);
      return 64;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.report) {
    const report = JSON.parse(readFileSync(opts.report, 'utf8')) as BenchReport;
    if (report.schema !== 'berth-bench/1') throw new Error(`${opts.report} is not a berth-bench/1 report (schema ${JSON.stringify(report.schema)})`);
    process.stdout.write(renderText(report));
    if (opts.markdown) write(opts.markdown, renderMarkdown(report));
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('berth-bench: must run as root (containers, mounts and cgroups)\n');
    return 1;
  }
  const command = ['node tools/bench/dist/bin.js', ...argv].join(' ');
  const report = await runBench(opts, command, log);
  process.stdout.write(renderText(report));
  if (opts.json) write(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.markdown) write(opts.markdown, renderMarkdown(report));
  if (report.interrupted) return report.interrupted === 'SIGINT' ? 130 : 143;
  return report.scenarios.some((s) => s.errors.length > 0) ? 2 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`berth-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

// The real harness, end to end, with --quick on scenarios 1 and 6: a
// private containerd, the berth stack, the runc floor and the registry are
// set up, every contestant really runs, and everything is taken down again.
// Timings are never asserted, only that each contestant produced samples.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listProcesses } from '../src/memory.js';
import type { BenchReport } from '../src/report.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
const out = mkdtempSync(join(tmpdir(), 'berth-bench-smoke-'));
/** If the harness has not finished by then, it is interrupted (SIGINT), which makes it clean up and exit. */
const HARNESS_DEADLINE_MS = 180_000;
let harness: ChildProcess | undefined;

// Whatever happened to the test, the harness must get to clean up: a harness
// killed with the test's worker would leave its stack and containers behind.
afterAll(async () => {
  if (harness && harness.exitCode === null && harness.signalCode === null) {
    const closed = new Promise((r) => harness?.once('close', r));
    harness.kill('SIGINT');
    await closed;
  }
  rmSync(out, { recursive: true, force: true });
});

/** What the harness leaves on the host while it runs: temp dirs and processes named after them. */
const traces = () => ({
  dirs: new Set(readdirSync(tmpdir()).filter((n) => /^berth-bench-(containerd|runc|work|state|run)-/.test(n) || n.startsWith('berth-registry-'))),
  pids: new Set(listProcesses().filter((p) => p.argv.some((a) => a.includes('/berth-bench-'))).map((p) => p.pid)),
});

function runHarness(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    harness = child;
    const deadline = setTimeout(() => child.kill('SIGINT'), HARNESS_DEADLINE_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('berth-bench --quick --scenarios 1,6', () => {
  it('runs berth, containerd and runc for real and writes a complete report', async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build @berth/bench first (npm run build)`);
    const before = traces();
    const json = join(out, 'report.json');
    const md = join(out, 'report.md');
    const r = await runHarness(['--quick', '--scenarios', '1,6', '--json', json, '--markdown', md]);
    // Exit status 2 means some samples failed, 130 that the deadline interrupted it: the table on stdout lists them with the contestant's own error output.
    expect(r.code, `harness failed (status ${r.code}):\n${r.stdout.slice(-6000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`).toBe(0);

    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.schema).toBe('berth-bench/1');
    expect(report.quick).toBe(true);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.memoryBytes).toBeGreaterThan(0);
    expect(report.machine.kernel).not.toBe('');
    for (const v of ['node', 'containerd', 'runc', 'berth'] as const) expect(report.machine.versions[v]).toMatch(/\d+\.\d+/);
    expect(report.scenarios.map((s) => s.id)).toEqual([1, 6]);

    const [runRm, cli] = report.scenarios;
    expect(runRm?.errors).toEqual([]);
    expect(runRm?.metrics.map((m) => m.id)).toEqual(['wall']);
    expect(runRm?.metrics[0]?.contestants.map((c) => c.name)).toEqual(['berth', 'berth (NATS API)', 'containerd', 'runc']);
    expect(cli?.errors).toEqual([]);
    expect(cli?.metrics.map((m) => m.id)).toEqual(['version', 'ps', 'client']);
    for (const sc of report.scenarios) {
      for (const m of sc.metrics) {
        for (const c of m.contestants) {
          expect(c.samples, `${sc.id} ${m.id} ${c.name}`).toHaveLength(sc.counts['runs'] as number);
          expect(c.samples.every((s) => s > 0)).toBe(true);
          expect(c.summary?.n).toBe(c.samples.length);
        }
        // every berth contestant (the CLI, and for scenario 1 the NATS API too) against every peer
        const peers = m.contestants.filter((c) => c.kind !== 'berth').map((c) => c.name);
        const berths = m.contestants.filter((c) => c.kind === 'berth').map((c) => c.name);
        expect(m.ratios.map((x) => `${x.berth} / ${x.peer}`)).toEqual(berths.flatMap((b) => peers.map((p) => `${b} / ${p}`)));
        for (const x of m.ratios) expect(x.value).toBeGreaterThan(0);
      }
    }

    expect(r.stdout).toMatch(/^#\s+measurement\s+unit\s+contestant\s+n\s+min\s+median\s+max\s+p99/m);
    expect(readFileSync(md, 'utf8')).toContain('| # | measurement | unit | contestant |');

    // Nothing it made is left: no temp dirs, no processes (containerd, shims, nats, services, conmon).
    const after = traces();
    expect([...after.dirs].filter((d) => !before.dirs.has(d))).toEqual([]);
    expect([...after.pids].filter((p) => !before.pids.has(p))).toEqual([]);
  }, HARNESS_DEADLINE_MS + 120_000);
});

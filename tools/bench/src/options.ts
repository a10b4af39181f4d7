// The benchmark's command line.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Scenario numbers, ascending, no duplicates. */
  scenarios: number[];
  /** Overrides every scenario's measured rounds (samples, exits or memory readings). */
  runs?: number;
  /** Overrides every scenario's warm-up rounds. */
  warmup?: number;
  /** Overrides the container count of scenarios 3 and 4. */
  containers?: number;
  json?: string;
  markdown?: string;
  /** Render this JSON report (of an earlier run) instead of running. */
  report?: string;
  quick: boolean;
  help: boolean;
}

export const ALL_SCENARIOS = [1, 2, 3, 4, 5, 6] as const;

export const USAGE = `usage: node tools/bench/dist/bin.js [--scenarios 1,2,...] [--runs N] [--warmup N]
                                  [--containers N] [--json FILE] [--markdown FILE] [--quick]
       node tools/bench/dist/bin.js --report FILE [--markdown FILE]

Benchmarks berth beside containerd (private instance, ctr) and bare runc on
this machine, interleaving the contestants, and prints a table of
min/median/max and berth/peer ratios of medians. Needs root.

  --scenarios LIST  which scenarios to run (default: all of 1-6)
                      1 run --rm busybox echo hello (berth, ctr run --rm, runc run)
                      2 cold pull + unpack of the Debian image
                      3 N containers started concurrently, then removed
                      4 control-plane memory with 0 and N containers
                      5 exit event latency (p50/p99)
                      6 CLI start-up
  --runs N          measured rounds of every scenario (samples, exits, readings)
  --warmup N        warm-up rounds of every scenario
  --containers N    containers at once in scenarios 3 and 4 (default 50)
  --json FILE       also write the report as JSON (schema berth-bench/1)
  --markdown FILE   also write the table as Markdown
  --report FILE     render the JSON report of an earlier run (with --markdown:
                    write it as Markdown) instead of running
  --quick           tiny counts: a smoke test of the harness, not a measurement
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function count(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** "1,3-5" → [1,3,4,5]. Pure. */
export function parseScenarioList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`--scenarios: ${JSON.stringify(part)} is not a scenario number or range (e.g. 1,3-5)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UsageError(`--scenarios: range ${part} runs backwards`);
    for (let n = from; n <= to; n++) {
      if (!(ALL_SCENARIOS as readonly number[]).includes(n)) throw new UsageError(`--scenarios: there is no scenario ${n} (there are ${ALL_SCENARIOS.join(', ')})`);
      out.add(n);
    }
  }
  return [...out].sort((a, b) => a - b);
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        scenarios: { type: 'string' },
        runs: { type: 'string' },
        warmup: { type: 'string' },
        containers: { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        report: { type: 'string' },
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const runs = count('--runs', v.runs, 1);
  const warmup = count('--warmup', v.warmup, 0);
  const containers = count('--containers', v.containers, 1);
  return {
    scenarios: v.scenarios === undefined ? [...ALL_SCENARIOS] : parseScenarioList(v.scenarios),
    ...(runs !== undefined ? { runs } : {}),
    ...(warmup !== undefined ? { warmup } : {}),
    ...(containers !== undefined ? { containers } : {}),
    ...(v.json !== undefined ? { json: v.json } : {}),
    ...(v.markdown !== undefined ? { markdown: v.markdown } : {}),
    ...(v.report !== undefined ? { report: v.report } : {}),
    quick: v.quick ?? false,
    help: v.help ?? false,
  };
}

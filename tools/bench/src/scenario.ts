// What a scenario is given and what it must return.
import type { Fixtures } from './fixtures.js';
import type { Counts } from './interleave.js';
import type { BerthPeer } from './peers/berth.js';
import type { ContainerdPeer } from './peers/containerd.js';
import type { RuncFloor } from './peers/runc.js';
import type { ScenarioReport } from './report.js';

export interface BenchEnv {
  berth: BerthPeer;
  containerd: ContainerdPeer;
  /** Present when a selected scenario needs the floor. */
  runc?: RuncFloor;
  fixtures: Fixtures;
  /** A private temp dir (removed at the end) for FIFOs and bind mounts. */
  workDir: string;
  /** Aborted when the run is interrupted: take no further samples. */
  signal: AbortSignal;
  log(msg: string): void;
}

export interface ScenarioCounts extends Counts {
  /** Containers at once (scenarios 3 and 4). */
  containers?: number;
  /** Failed samples after which a contestant is given up on (default: the scenario's). */
  maxFailures?: number;
}

export interface Scenario {
  id: number;
  title: string;
  needs: { debian?: boolean; runc?: boolean };
  /** Default counts, and the tiny ones of --quick. */
  defaults: ScenarioCounts;
  quick: ScenarioCounts;
  run(env: BenchEnv, counts: ScenarioCounts): Promise<Omit<ScenarioReport, 'durationMs'>>;
}

/** Lines of a command's output, blank ones dropped. Pure. */
export const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** One progress line per sample on the log (stderr). */
export function progress(log: (msg: string) => void, scenario: number) {
  return (slot: { round: number; warmup: boolean }, name: string, sample: Record<string, number> | undefined) => {
    const what = sample ? Object.entries(sample).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ') : 'FAILED';
    log(`[${scenario}] ${slot.warmup ? 'warm-up' : 'run'} ${slot.round + 1} ${name}: ${what}`);
  };
}

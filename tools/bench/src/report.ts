// What a benchmark run produces: per scenario, per measurement, each
// contestant's samples and their summary, and berth's ratios to the peers.
// This is also the JSON written by --json (schema 'berth-bench/1').
import type { SampleError } from './interleave.js';
import type { MachineInfo } from './machine.js';
import { ratioOfMedians, summarize, type Summary } from './stats.js';

/** berth (one or more ways of driving it), the peer it is compared with, or the floor nothing can beat. */
export type ContestantKind = 'berth' | 'peer' | 'floor';

export interface ContestantInfo {
  name: string;
  kind: ContestantKind;
  /** What it runs, e.g. the command line of one sample. */
  how: string;
}

export interface ContestantResult {
  name: string;
  kind: ContestantKind;
  samples: number[];
  /** Absent when the contestant produced no sample (see the scenario's errors). */
  summary?: Summary;
}

export interface Ratio {
  berth: string;
  peer: string;
  /** berth median / peer median; above 1: berth is slower (or heavier). */
  value: number;
}

export interface MetricReport {
  id: string;
  title: string;
  unit: string;
  contestants: ContestantResult[];
  ratios: Ratio[];
}

export interface ScenarioReport {
  id: number;
  title: string;
  /** How it was measured, in sentences. */
  method: string[];
  counts: Record<string, number>;
  contestants: ContestantInfo[];
  metrics: MetricReport[];
  errors: SampleError[];
  /** Scenario-specific extras (e.g. memory per process kind). */
  details?: Record<string, unknown>;
  /** Findings worth a sentence under the table (e.g. what an image removal left behind). */
  notes?: string[];
  durationMs: number;
}

export interface BenchReport {
  schema: 'berth-bench/1';
  command: string;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  /** The signal that interrupted the run; the scenarios hold what was measured until then. */
  interrupted?: string;
  machine: MachineInfo;
  scenarios: ScenarioReport[];
}

export interface MetricDef {
  id: string;
  title: string;
  unit: string;
}

/**
 * A measurement's report from the samples of the contestants it applies to;
 * one that produced none keeps an empty list and no summary (its failures
 * are in the scenario's errors). Pure.
 */
export function buildMetric(def: MetricDef, contestants: readonly ContestantInfo[], samplesOf: (name: string) => readonly number[] | undefined): MetricReport {
  const results: ContestantResult[] = contestants.map((c) => {
    const samples = [...(samplesOf(c.name) ?? [])];
    return { name: c.name, kind: c.kind, samples, ...(samples.length > 0 ? { summary: summarize(samples) } : {}) };
  });
  return { ...def, contestants: results, ratios: ratiosOf(results) };
}

/** berth contestant × non-berth contestant, where both have samples. Pure. */
export function ratiosOf(results: readonly ContestantResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const b of results) {
    if (b.kind !== 'berth' || !b.summary) continue;
    for (const p of results) {
      if (p.kind === 'berth' || !p.summary) continue;
      const value = ratioOfMedians(b.summary, p.summary);
      if (value !== undefined) ratios.push({ berth: b.name, peer: p.name, value });
    }
  }
  return ratios;
}

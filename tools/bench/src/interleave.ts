// Contestants take turns (A B A B …) so that whatever else the machine is
// doing at the time — page cache, a neighbour's CPU burst, thermal state —
// falls on both alike. Warm-up rounds come first and are not recorded.

export interface Slot {
  /** Index into the contestant list. */
  contestant: number;
  /** 0-based; warm-up rounds and measured rounds are numbered separately. */
  round: number;
  warmup: boolean;
}

export interface Counts {
  warmup: number;
  runs: number;
}

/** The order in which samples are taken: every round visits each contestant once, in list order. Pure. */
export function interleavedSchedule(contestants: number, counts: Counts): Slot[] {
  for (const [what, v] of [['contestants', contestants], ['warmup', counts.warmup], ['runs', counts.runs]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${what} must be a whole number ≥ 0, got ${v}`);
  }
  const slots: Slot[] = [];
  const rounds = (n: number, warmup: boolean) => {
    for (let round = 0; round < n; round++) {
      for (let contestant = 0; contestant < contestants; contestant++) slots.push({ contestant, round, warmup });
    }
  };
  rounds(counts.warmup, true);
  rounds(counts.runs, false);
  return slots;
}

/** One sample: named measurements (e.g. { start: 812, remove: 301 }). */
export type Sample = Record<string, number>;

export interface Contestant {
  name: string;
  /** Takes one sample; `label` is unique per call (use it in container names). */
  sample(label: string, slot: Slot): Promise<Sample>;
}

export interface SampleError {
  contestant: string;
  round: number;
  warmup: boolean;
  message: string;
}

export interface ContestantSamples {
  name: string;
  /** Measured samples per measurement name, in the order taken. */
  metrics: Record<string, number[]>;
}

export interface InterleaveResult {
  contestants: ContestantSamples[];
  errors: SampleError[];
}

export interface RunOptions extends Counts {
  /** A contestant is given up on after this many failed samples (default 3). */
  maxFailures?: number;
  /** Prefix of sample labels (default 's'). */
  labelPrefix?: string;
  onSample?: (slot: Slot, name: string, sample: Sample | undefined) => void;
  /** Once aborted, no further sample is taken; what was measured is returned. */
  signal?: AbortSignal;
}

/**
 * Runs the schedule. A failing sample is recorded as an error, not thrown,
 * so that one contestant's bug does not hide the other's numbers; after
 * maxFailures a contestant is skipped for the rest of the run.
 */
export async function runInterleaved(contestants: readonly Contestant[], opts: RunOptions): Promise<InterleaveResult> {
  const maxFailures = opts.maxFailures ?? 3;
  const prefix = opts.labelPrefix ?? 's';
  const results: ContestantSamples[] = contestants.map((c) => ({ name: c.name, metrics: {} }));
  const failures = contestants.map(() => 0);
  const errors: SampleError[] = [];
  for (const slot of interleavedSchedule(contestants.length, opts)) {
    if (opts.signal?.aborted) break;
    const c = contestants[slot.contestant] as Contestant;
    if ((failures[slot.contestant] as number) >= maxFailures) continue;
    const label = `${prefix}${slot.warmup ? 'w' : 'r'}${slot.round}-${slot.contestant}`;
    let sample: Sample | undefined;
    try {
      sample = await c.sample(label, slot);
    } catch (err) {
      if (opts.signal?.aborted) break; // interrupted, not failed
      failures[slot.contestant] = (failures[slot.contestant] as number) + 1;
      errors.push({ contestant: c.name, round: slot.round, warmup: slot.warmup, message: errorText(err) });
    }
    opts.onSample?.(slot, c.name, sample);
    if (!sample || slot.warmup) continue;
    const into = (results[slot.contestant] as ContestantSamples).metrics;
    for (const [metric, value] of Object.entries(sample)) (into[metric] ??= []).push(value);
  }
  return { contestants: results, errors };
}

/** A lookup of one measurement's samples by contestant name, for buildMetric. Pure. */
export function samplesOf(result: InterleaveResult, metric: string): (name: string) => number[] | undefined {
  return (name) => result.contestants.find((c) => c.name === name)?.metrics[metric];
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Order statistics of a sample set. Benchmarks on a shared machine have
// long right tails, so medians (not means) are what ratios are taken of.

export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
  mean: number;
  p99: number;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of ascending values, interpolating linearly
 * between the two nearest ranks (R's type 7, numpy's default).
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of an empty sample set');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile ${q} is outside [0, 1]`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('cannot summarize an empty sample set');
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new Error(`sample ${s} is not a finite number`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0] as number,
    median: quantile(sorted, 0.5),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    p99: quantile(sorted, 0.99),
  };
}

/** berth's median over the peer's: above 1 means berth took longer (or used more). Undefined when the peer's is 0. */
export function ratioOfMedians(berth: Summary, peer: Summary): number | undefined {
  if (peer.median === 0) return undefined;
  return berth.median / peer.median;
}

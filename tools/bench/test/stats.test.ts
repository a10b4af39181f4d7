import { describe, expect, it } from 'vitest';
import { quantile, ratioOfMedians, summarize } from '../src/stats.js';

describe('quantile', () => {
  it('interpolates between the nearest ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30], 0.5)).toBe(20);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
    expect(quantile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
  });

  it('p99 of 100 values 1..100 lies between the two highest ranks', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(values, 0.99)).toBeCloseTo(99.01, 10);
  });

  it('rejects an empty set and a q outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow(/empty/);
    expect(() => quantile([1], 1.5)).toThrow(/outside/);
    expect(() => quantile([1], Number.NaN)).toThrow(/outside/);
  });
});

describe('summarize', () => {
  it('gives n, min, median, max, mean and p99 of unsorted samples', () => {
    expect(summarize([5, 1, 3])).toEqual({ n: 3, min: 1, median: 3, max: 5, mean: 3, p99: 4.96 });
  });

  it('does not reorder the caller’s array', () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('summarizes a single sample as itself', () => {
    expect(summarize([7])).toMatchObject({ n: 1, min: 7, median: 7, max: 7, p99: 7 });
  });

  it('rejects an empty set and non-finite samples, naming the sample', () => {
    expect(() => summarize([])).toThrow(/empty/);
    expect(() => summarize([1, Number.POSITIVE_INFINITY])).toThrow(/Infinity is not a finite number/);
  });
});

describe('ratioOfMedians', () => {
  it('is berth’s median over the peer’s', () => {
    expect(ratioOfMedians(summarize([10, 20, 30]), summarize([5, 10, 15]))).toBe(2);
    expect(ratioOfMedians(summarize([1]), summarize([4]))).toBe(0.25);
  });

  it('is undefined when the peer’s median is 0', () => {
    expect(ratioOfMedians(summarize([1]), summarize([0]))).toBeUndefined();
  });
});

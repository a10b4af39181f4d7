import { describe, expect, it } from 'vitest';
import { interleavedSchedule, runInterleaved, samplesOf, type Contestant, type Slot } from '../src/interleave.js';

describe('interleavedSchedule', () => {
  it('alternates contestants every round, warm-up rounds first', () => {
    const order = interleavedSchedule(2, { warmup: 1, runs: 2 }).map((s) => `${s.warmup ? 'w' : 'r'}${s.round}:${'AB'[s.contestant]}`);
    expect(order).toEqual(['w0:A', 'w0:B', 'r0:A', 'r0:B', 'r1:A', 'r1:B']);
  });

  it('visits three contestants in list order each round', () => {
    const slots = interleavedSchedule(3, { warmup: 0, runs: 2 });
    expect(slots.map((s) => s.contestant)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(slots.every((s) => !s.warmup)).toBe(true);
  });

  it('is empty without rounds and rejects negative or fractional counts', () => {
    expect(interleavedSchedule(2, { warmup: 0, runs: 0 })).toEqual([]);
    expect(() => interleavedSchedule(2, { warmup: -1, runs: 1 })).toThrow(/warmup must be a whole number/);
    expect(() => interleavedSchedule(2, { warmup: 0, runs: 1.5 })).toThrow(/runs must be a whole number/);
  });
});

describe('runInterleaved', () => {
  const recorder = () => {
    const calls: string[] = [];
    const make = (name: string, value: (slot: Slot) => Record<string, number>): Contestant => ({
      name,
      sample: async (label, slot) => {
        calls.push(`${name}:${label}`);
        return value(slot);
      },
    });
    return { calls, make };
  };

  it('takes samples in A B A B order, keeps measured ones only, per metric', async () => {
    const { calls, make } = recorder();
    const result = await runInterleaved(
      [make('A', (s) => ({ t: 100 + s.round, u: 1 })), make('B', (s) => ({ t: 200 + s.round }))],
      { warmup: 1, runs: 2, labelPrefix: 'x' },
    );
    expect(calls).toEqual(['A:xw0-0', 'B:xw0-1', 'A:xr0-0', 'B:xr0-1', 'A:xr1-0', 'B:xr1-1']);
    expect(result.contestants).toEqual([
      { name: 'A', metrics: { t: [100, 101], u: [1, 1] } },
      { name: 'B', metrics: { t: [200, 201] } },
    ]);
    expect(result.errors).toEqual([]);
    expect(samplesOf(result, 't')('B')).toEqual([200, 201]);
    expect(samplesOf(result, 'u')('B')).toBeUndefined();
    expect(samplesOf(result, 't')('C')).toBeUndefined();
  });

  it('records a failing sample as an error and keeps going with the others', async () => {
    let n = 0;
    const flaky: Contestant = {
      name: 'flaky',
      sample: async () => {
        n += 1;
        if (n === 2) throw new Error('boom on the second call');
        return { t: n };
      },
    };
    const steady: Contestant = { name: 'steady', sample: async () => ({ t: 5 }) };
    const result = await runInterleaved([flaky, steady], { warmup: 0, runs: 3 });
    expect(result.contestants[0]?.metrics['t']).toEqual([1, 3]);
    expect(result.contestants[1]?.metrics['t']).toEqual([5, 5, 5]);
    expect(result.errors).toEqual([{ contestant: 'flaky', round: 1, warmup: false, message: 'boom on the second call' }]);
  });

  it('gives up on a contestant after maxFailures and reports each failure once', async () => {
    let calls = 0;
    const broken: Contestant = {
      name: 'broken',
      sample: async () => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      },
    };
    const result = await runInterleaved([broken], { warmup: 1, runs: 5, maxFailures: 2 });
    expect(calls).toBe(2);
    expect(result.errors.map((e) => [e.warmup, e.message])).toEqual([
      [true, 'failure 1'],
      [false, 'failure 2'],
    ]);
    expect(result.contestants[0]?.metrics).toEqual({});
  });

  it('reports every sample to onSample, undefined for a failure', async () => {
    const seen: string[] = [];
    await runInterleaved(
      [
        { name: 'ok', sample: async () => ({ t: 1 }) },
        { name: 'bad', sample: async () => Promise.reject(new Error('no')) },
      ],
      { warmup: 0, runs: 1, onSample: (slot, name, sample) => seen.push(`${name}:${slot.round}:${sample ? 'ok' : 'failed'}`) },
    );
    expect(seen).toEqual(['ok:0:ok', 'bad:0:failed']);
  });

  it('stops taking samples once the signal is aborted, not counting the interrupted one as a failure', async () => {
    const stop = new AbortController();
    let calls = 0;
    const c: Contestant = {
      name: 'c',
      sample: async () => {
        calls += 1;
        if (calls === 2) {
          stop.abort();
          throw new Error('killed by the interruption');
        }
        return { t: calls };
      },
    };
    const result = await runInterleaved([c], { warmup: 0, runs: 5, signal: stop.signal });
    expect(calls).toBe(2);
    expect(result.contestants[0]?.metrics['t']).toEqual([1]);
    expect(result.errors).toEqual([]);
  });
});

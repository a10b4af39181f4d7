import { describe, expect, it } from 'vitest';
import { allSettledOrThrow } from '../src/settle.js';

describe('allSettledOrThrow', () => {
  it('resolves with every value, in order', async () => {
    const [a, b] = await allSettledOrThrow([Promise.resolve(1), Promise.resolve('two')]);
    expect([a, b]).toEqual([1, 'two']);
  });

  it('rejects with the first failure given, only after every step has settled', async () => {
    let slowDone = false;
    const slow = new Promise<void>((resolve) => setTimeout(() => { slowDone = true; resolve(); }, 30));
    const err = await allSettledOrThrow([
      slow,
      Promise.reject(new Error('first')),
      Promise.reject(new Error('second')),
    ]).catch((e: unknown) => e);
    expect((err as Error).message).toBe('first');
    expect(slowDone).toBe(true);
  });
});

// Restart policy decisions and backoff maths.
import { describe, expect, it } from 'vitest';
import { decideRestart, DEFAULT_BACKOFF, nextBackoffMs, policyWantsRestart, restartOnServiceStart, type ExitFacts } from '../src/restart-policy.js';

const facts = (f: Partial<ExitFacts> = {}): ExitFacts => ({
  exitCode: 1,
  restartCount: 0,
  stoppedByUser: false,
  removing: false,
  ranForMs: 50,
  previousDelayMs: 0,
  ...f,
});

describe('policyWantsRestart', () => {
  it('"no" never restarts', () => {
    expect(policyWantsRestart({ kind: 'no', maxRetries: 0 }, facts()).restart).toBe(false);
  });

  it('"on-failure" restarts non-zero exits up to max_retries (0: no bound)', () => {
    const p = { kind: 'on-failure' as const, maxRetries: 3 };
    expect(policyWantsRestart(p, facts({ exitCode: 0 })).restart).toBe(false);
    expect(policyWantsRestart(p, facts({ restartCount: 2 })).restart).toBe(true);
    expect(policyWantsRestart(p, facts({ restartCount: 3 }))).toEqual({ restart: false, reason: 'maximum restart count 3 reached' });
    expect(policyWantsRestart({ kind: 'on-failure', maxRetries: 0 }, facts({ restartCount: 1000 })).restart).toBe(true);
  });

  it('"always" and "unless-stopped" restart any exit, but not after a user stop or during removal', () => {
    for (const kind of ['always', 'unless-stopped'] as const) {
      const p = { kind, maxRetries: 0 };
      expect(policyWantsRestart(p, facts({ exitCode: 0 })).restart).toBe(true);
      expect(policyWantsRestart(p, facts({ stoppedByUser: true })).restart).toBe(false);
      expect(policyWantsRestart(p, facts({ removing: true })).restart).toBe(false);
    }
  });
});

describe('backoff', () => {
  it('starts at 100 ms and doubles up to one minute', () => {
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 12; i++) delays.push((d = nextBackoffMs(d, 50)));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
  });

  it('resets after a run of at least 10 s', () => {
    expect(nextBackoffMs(51200, 9_999)).toBe(60000);
    expect(nextBackoffMs(51200, 10_000)).toBe(100);
    expect(DEFAULT_BACKOFF).toEqual({ initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 });
  });

  it('decideRestart gives the delay with the decision', () => {
    expect(decideRestart({ kind: 'always', maxRetries: 0 }, facts({ previousDelayMs: 400 }))).toEqual({ restart: true, delayMs: 800 });
    expect(decideRestart({ kind: 'no', maxRetries: 0 }, facts())).toMatchObject({ restart: false });
  });
});

describe('restartOnServiceStart', () => {
  it('follows Docker\'s daemon-start rule', () => {
    const stopped = { exitCode: 0, restartCount: 0, stoppedByUser: true };
    expect(restartOnServiceStart({ kind: 'always', maxRetries: 0 }, stopped)).toBe(true);
    expect(restartOnServiceStart({ kind: 'unless-stopped', maxRetries: 0 }, stopped)).toBe(false);
    expect(restartOnServiceStart({ kind: 'unless-stopped', maxRetries: 0 }, { ...stopped, stoppedByUser: false })).toBe(true);
    expect(restartOnServiceStart({ kind: 'on-failure', maxRetries: 2 }, { exitCode: 1, restartCount: 1, stoppedByUser: false })).toBe(true);
    expect(restartOnServiceStart({ kind: 'on-failure', maxRetries: 2 }, { exitCode: 1, restartCount: 2, stoppedByUser: false })).toBe(false);
    expect(restartOnServiceStart({ kind: 'no', maxRetries: 0 }, { exitCode: 1, restartCount: 0, stoppedByUser: false })).toBe(false);
  });
});

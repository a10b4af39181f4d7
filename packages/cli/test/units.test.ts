import { describe, expect, it } from 'vitest';
import { binarySize, cpuTime, humanDuration, humanSize, shortId, timeAgo, truncate } from '../src/format/units.js';

describe('sizes', () => {
  it.each([
    [0, '0B'],
    [812, '812B'],
    [1000, '1kB'],
    [5_590_000, '5.59MB'],
    [1_234_567, '1.235MB'],
    [4_300_000_000, '4.3GB'],
  ])('humanSize(%d) = %s', (n, s) => expect(humanSize(n)).toBe(s));
  it.each([
    [512 * 1024 ** 2, '512MiB'],
    [1.5 * 1024 ** 3, '1.5GiB'],
    [1023, '1023B'],
  ])('binarySize(%d) = %s', (n, s) => expect(binarySize(n)).toBe(s));
});

describe('durations and times', () => {
  it.each([
    [500, 'Less than a second'],
    [1000, '1 second'],
    [45_000, '45 seconds'],
    [60_000, 'About a minute'],
    [5 * 60_000, '5 minutes'],
    [3_600_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'],
    [3 * 86_400_000, '3 days'],
    [15 * 86_400_000, '2 weeks'],
    [90 * 86_400_000, '3 months'],
    [800 * 86_400_000, '2 years'],
  ])('humanDuration(%d) = %s', (ms, s) => expect(humanDuration(ms)).toBe(s));
  it('timeAgo', () => {
    const now = new Date('2024-05-01T12:00:00Z');
    expect(timeAgo(new Date('2024-05-01T11:59:55Z'), now)).toBe('5 seconds ago');
    expect(timeAgo(undefined, now)).toBe('-');
  });
  it('cpuTime', () => expect(cpuTime(3_725_000_000_000)).toBe('01:02:05'));
});

describe('ids and text', () => {
  it('shortId drops the algorithm and keeps 12 hex digits', () => {
    expect(shortId('sha256:0123456789abcdef0123')).toBe('0123456789ab');
    expect(shortId('fedcba9876543210')).toBe('fedcba987654');
  });
  it('truncate', () => {
    expect(truncate('echo hello', 20)).toBe('echo hello');
    expect(truncate('sh -c while true; do sleep 1; done', 20)).toBe('sh -c while true; d…');
  });
});

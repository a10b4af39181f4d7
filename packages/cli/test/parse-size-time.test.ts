import { describe, expect, it } from 'vitest';
import { parseCpus, parseInteger, parseMemory, parsePidsLimit, parseSize } from '../src/parse/size.js';
import { formatTimePoint, parseDuration, parseTimePoint } from '../src/parse/time.js';

describe('parseSize', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['512M', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64k', 64 * 1024],
    ['1024', 1024],
    ['100b', 100],
    ['2gb', 2 * 1024 ** 3],
    ['100MiB', 100 * 1024 ** 2],
    ['1t', 1024 ** 4],
  ])('%s is %d bytes', (input, bytes) => expect(parseSize(input)).toBe(bytes));

  it.each(['', 'abc', '12x', '-1m', '1.2.3m', 'm'])('rejects %j naming the input', (input) => {
    expect(() => parseSize(input)).toThrow(`invalid size "${input}"`);
  });

  it('memory limits below 6m are refused, 0 means none', () => {
    expect(() => parseMemory('4m')).toThrow('the minimum is 6m');
    expect(parseMemory('0')).toBe(0);
    expect(parseMemory('6m')).toBe(6 * 1024 ** 2);
  });
});

describe('parseCpus', () => {
  it('is billionths of a CPU', () => {
    expect(parseCpus('1.5')).toBe(1_500_000_000);
    expect(parseCpus('0.25')).toBe(250_000_000);
    expect(parseCpus('2')).toBe(2_000_000_000);
  });
  it.each(['0', '-1', 'two', '1,5', ''])('rejects %j', (v) => expect(() => parseCpus(v)).toThrow(/number of CPUs/));
});

describe('parseInteger and parsePidsLimit', () => {
  it('checks range', () => {
    expect(parseInteger('10', 0, 20)).toBe(10);
    expect(() => parseInteger('30', 0, 20)).toThrow('must be between 0 and 20');
    expect(() => parseInteger('1.5')).toThrow('expected a whole number');
    expect(() => parseInteger('-2', -1)).toThrow('must be at least -1');
  });
  it('pids limit: -1 unlimited, positive counts', () => {
    expect(parsePidsLimit('-1')).toBe(-1);
    expect(parsePidsLimit('100')).toBe(100);
    expect(() => parsePidsLimit('-5')).toThrow();
  });
});

describe('parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['2h45m30.5s', 9_930_500],
    ['0', 0],
  ])('%s is %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each(['', '10', '5 minutes', '1h-30m', 'm5'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(`invalid duration "${input}"`);
  });
});

describe('parseTimePoint', () => {
  const now = new Date('2024-05-01T12:00:00.000Z');
  it('takes a duration back from now', () => {
    expect(parseTimePoint('10m', now)).toEqual({ seconds: Date.parse('2024-05-01T11:50:00Z') / 1000, nanos: 0 });
  });
  it('takes RFC 3339 with nanoseconds and offsets', () => {
    expect(parseTimePoint('2024-05-01T10:00:00.123456789Z', now)).toEqual({
      seconds: Date.parse('2024-05-01T10:00:00Z') / 1000,
      nanos: 123456789,
    });
    expect(parseTimePoint('2024-05-01T12:00:00+02:00', now).seconds).toBe(Date.parse('2024-05-01T10:00:00Z') / 1000);
  });
  it('takes Unix seconds with a fraction', () => {
    expect(parseTimePoint('1714557600.5', now)).toEqual({ seconds: 1714557600, nanos: 500_000_000 });
  });
  it('takes a date as local midnight', () => {
    expect(parseTimePoint('2024-05-01', now).seconds).toBe(new Date(2024, 4, 1).getTime() / 1000);
  });
  it('rejects anything else with the accepted forms', () => {
    expect(() => parseTimePoint('yesterday', now)).toThrow(/invalid time "yesterday": expected a duration/);
    expect(() => parseTimePoint('2024-13-01T00:00:00Z', now)).toThrow('not a valid date and time');
  });
  it('formats with nanoseconds as logs -t does', () => {
    expect(formatTimePoint({ seconds: 1714557600, nanos: 5 })).toBe('2024-05-01T10:00:00.000000005Z');
  });
});

import { describe, expect, it } from 'vitest';
import { parseSignal, signalName } from '../src/signals.js';

describe('parseSignal', () => {
  it('accepts names with or without SIG, in any case, and numbers', () => {
    expect(parseSignal('SIGTERM')).toBe(15);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('Hup')).toBe(1);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('SIGRTMIN+2')).toBe(36);
    expect(parseSignal('RTMAX-1')).toBe(63);
    expect(parseSignal('64')).toBe(64);
  });

  it.each(['', 'SIGFOO', '0', '65', '-1', '1.5', 'RTMIN+31', 'RTMAX+1'])('refuses %j with INVALID_ARGUMENT naming it', (input) => {
    expect(() => parseSignal(input)).toThrow(expect.objectContaining({ code: 3, message: expect.stringContaining(JSON.stringify(input)) }));
  });

  it('names numbers', () => {
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(6)).toBe('SIGABRT');
    expect(signalName(35)).toBe('SIGRTMIN+1');
  });
});

// Signals, environment merging and exec processes.
import { describe, expect, test } from 'vitest';
import { SpecError, buildExecProcess, checkEnv, hasEnv, mergeEnv, signalName, signalNumber } from '../src/index.js';

describe('signals', () => {
  test('names with or without SIG, any case, numbers, real-time offsets', () => {
    expect(signalNumber('SIGTERM')).toBe(15);
    expect(signalNumber('term')).toBe(15);
    expect(signalNumber('Hup')).toBe(1);
    expect(signalNumber('9')).toBe(9);
    expect(signalNumber(9)).toBe(9);
    expect(signalNumber('SIGCLD')).toBe(17);
    expect(signalNumber('SIGRTMIN')).toBe(34);
    expect(signalNumber('SIGRTMIN+2')).toBe(36);
    expect(signalNumber('RTMAX-1')).toBe(63);
    expect(signalNumber('64')).toBe(64);
  });

  test.each(['', 'SIGFOO', '0', '65', '-1', '1.5', 'RTMIN+31', 'RTMAX+1', 'RTMIN-1'])('%j is no signal', (s) => {
    expect(signalNumber(s)).toBeUndefined();
  });

  test('numbers have their conventional names; aliases are never chosen', () => {
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(6)).toBe('SIGABRT');
    expect(signalName(17)).toBe('SIGCHLD');
    expect(signalName(29)).toBe('SIGIO');
    expect(signalName(34)).toBe('SIGRTMIN');
    expect(signalName(35)).toBe('SIGRTMIN+1');
    expect(signalName(32)).toBe('SIG32');
    for (let n = 1; n <= 64; n++) if (n !== 32 && n !== 33) expect(signalNumber(signalName(n))).toBe(n);
  });
});

describe('environment', () => {
  test('replaces by key in place, appends new keys, removes bare keys', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'])).toEqual(['A=1', 'B=3', 'C=4']);
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'A'])).toEqual(['B=3', 'C=4']);
    expect(mergeEnv(['A=1'], ['Z'])).toEqual(['A=1']);
    expect(hasEnv(['HOME=/x'], 'HOME')).toBe(true);
    expect(hasEnv(['HOME'], 'HOME')).toBe(false);
    expect(hasEnv(['HOMER=1'], 'HOME')).toBe(false);
  });

  test('checkEnv names the first bad entry', () => {
    expect(() => checkEnv(['A=1', 'B', 'C='], 'env')).not.toThrow();
    for (const bad of ['=x', 'A B=1', 'A=\0']) {
      expect(() => checkEnv(['A=1', bad], 'env')).toThrow(expect.objectContaining({ field: 'env[1]' }));
    }
    expect(() => checkEnv([3], 'env')).toThrow(SpecError);
  });
});

describe('exec process', () => {
  const base = {
    user: { uid: 1, gid: 1 },
    args: ['sleep', '1'],
    env: ['PATH=/bin', 'A=1'],
    cwd: '/',
    terminal: false,
    consoleSize: { height: 1, width: 1 },
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
    noNewPrivileges: true,
  };

  test('inherits the container process and overrides what the exec asks', () => {
    expect(buildExecProcess(base, { args: ['sh'], env: ['A=2'], cwd: '/tmp', tty: true }, { uid: 5, gid: 6, additionalGids: [7], home: '/home/e' })).toEqual({
      user: { uid: 5, gid: 6, additionalGids: [7] },
      args: ['sh'],
      env: ['PATH=/bin', 'A=2', 'HOME=/home/e'],
      cwd: '/tmp',
      terminal: true,
      capabilities: base.capabilities,
      noNewPrivileges: true,
    });
    const plain = buildExecProcess(base, { args: ['id'], cwd: '' });
    expect(plain.user).toEqual({ uid: 1, gid: 1 });
    expect(plain.cwd).toBe('/');
    expect(plain.env).toEqual(base.env);
    expect(buildExecProcess(base, { args: ['x'], privileged: true }).capabilities?.bounding).toHaveLength(41);
  });

  test('bad exec options are SpecErrors naming the field', () => {
    expect(() => buildExecProcess(base, { args: [] })).toThrow(expect.objectContaining({ field: 'args' }));
    expect(() => buildExecProcess(base, { args: [''] })).toThrow(expect.objectContaining({ field: 'args' }));
    expect(() => buildExecProcess(base, { args: ['x'], cwd: 'rel' })).toThrow(expect.objectContaining({ field: 'cwd' }));
    expect(() => buildExecProcess(base, { args: ['x'], env: ['=bad'] })).toThrow(expect.objectContaining({ field: 'env[0]' }));
  });
});

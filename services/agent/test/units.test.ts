// Small pure pieces of the runtime: signals, runc/exec error parsing, conmon's
// command line, exit files, ids.
import { describe, expect, test } from 'vitest';
import { ContainerError } from '../src/errors.js';
import { conmonArgs, type ConmonLaunch } from '../src/runtime/conmon.js';
import { classifyExecFailure } from '../src/runtime/exec-errors.js';
import { exitStatusFromCode, parseExitFile } from '../src/runtime/exit-status.js';
import { checkedExecProcess, execProcessFrom } from '../src/runtime/exec-process.js';
import { validateId } from '../src/runtime/layout.js';
import { extractRuncMessage, isNotExistMessage } from '../src/runtime/runc.js';
import { stoppedDeletePlan } from '../src/runtime/runc-stopped-delete.js';
import { parseSignal, signalName } from '../src/runtime/signals.js';

describe('signals', () => {
  test('names, numbers, real-time; invalid ones are INVALID_ARGUMENT', () => {
    expect(parseSignal('SIGKILL')).toBe(9);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal(1)).toBe(1);
    expect(parseSignal('SIGRTMIN+2')).toBe(36);
    expect(parseSignal('RTMAX')).toBe(64);
    for (const bad of ['SIGFOO', '0', 65, -1, 1.5, '', 'RTMIN+40']) {
      expect(() => parseSignal(bad)).toThrow(ContainerError);
    }
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(6)).toBe('SIGABRT');
    expect(signalName(35)).toBe('SIGRTMIN+1');
  });
});

describe('runc and exec errors', () => {
  const stderr =
    'time="2026-11-27T18:14:31Z" level=error msg="runc create failed: unable to start container process: exec: \\"nosuchcmd\\": executable file not found in $PATH"\n';

  test('extracts logrus messages', () => {
    expect(extractRuncMessage(stderr)).toBe('runc create failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH');
    expect(extractRuncMessage('plain text\n')).toBe('plain text');
    expect(isNotExistMessage('container does not exist')).toBe(true);
  });

  test('maps exec failures to 127 and 126 like Docker', () => {
    expect(classifyExecFailure(extractRuncMessage(stderr))).toMatchObject({ kind: 'not-found', exitCode: 127, executable: 'nosuchcmd' });
    expect(classifyExecFailure('exec: "/bin/nope": stat /bin/nope: no such file or directory')).toMatchObject({ exitCode: 127 });
    expect(classifyExecFailure('unable to start container process: exec: "/etc/passwd": permission denied')).toMatchObject({
      kind: 'not-executable',
      exitCode: 126,
    });
    expect(classifyExecFailure('error mounting "proc" to rootfs: permission denied')).toBeUndefined();
    expect(classifyExecFailure('cgroup: no such file or directory')).toBeUndefined();
  });
});

describe('conmon command line', () => {
  const launch: ConmonLaunch = {
    conmonPath: '/usr/bin/conmon',
    runtimePath: '/usr/sbin/runc',
    runtimeRoot: '/s/runc',
    containerId: 'c1',
    cuuid: 'c1',
    bundle: '/s/c1/bundle',
    containerPidFile: '/s/c1/pid',
    conmonPidFile: '/s/c1/conmon.pid',
    exitDir: '/s/exits',
    persistDir: '/s/c1/persist',
    socketDir: '/s/attach',
    logPath: '/s/c1/container.log',
    terminal: true,
    stdin: true,
    leaveStdinOpen: true,
    cwd: '/s/c1',
  };

  test('container: k8s-file log, private runc root, exit and persist dirs, tty and stdin', () => {
    const args = conmonArgs(launch);
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    expect(after('-l')).toBe('k8s-file:/s/c1/container.log');
    expect(after('--runtime-arg')).toBe('--root=/s/runc');
    expect(after('--exit-dir')).toBe('/s/exits');
    expect(after('--persist-dir')).toBe('/s/c1/persist');
    expect(after('--socket-dir-path')).toBe('/s/attach');
    expect(args).toContain('-t');
    expect(args).toContain('-i');
    expect(args).toContain('--leave-stdin-open');
    expect(args).not.toContain('--sync');
    // The exit file is written without waiting for an fsync of the log.
    expect(args).toContain('--no-sync-log');
    expect(args).not.toContain('--log-size-max');
    expect(args).not.toContain('-e');
  });

  test('exec: process spec and attach', () => {
    const args = conmonArgs({ ...launch, terminal: false, stdin: false, exec: { processSpec: '/s/e/process.json', attach: true } });
    expect(args).toEqual(expect.arrayContaining(['-e', '--exec-process-spec', '/s/e/process.json', '--exec-attach']));
    expect(args).not.toContain('-t');
    expect(args).not.toContain('--leave-stdin-open');
  });
});

describe('exit statuses and ids', () => {
  test('exit files and signal names', () => {
    expect(parseExitFile('137')).toBe(137);
    expect(parseExitFile(' 0\n')).toBe(0);
    expect(parseExitFile('')).toBeUndefined();
    expect(parseExitFile('12x')).toBeUndefined();
    const at = new Date('2026-01-01T00:00:00Z');
    expect(exitStatusFromCode(143, false, at)).toEqual({ exitCode: 143, signal: 'SIGTERM', oomKilled: false, exitedAt: '2026-01-01T00:00:00.000Z' });
    expect(exitStatusFromCode(3, false, at).signal).toBeUndefined();
  });

  test('ids are file-name safe', () => {
    for (const ok of ['a', 'web-1', 'A.b_c-9', 'x'.repeat(128)]) expect(() => validateId(ok)).not.toThrow();
    for (const bad of ['', '-a', '.a', 'a/b', '..', 'a..b', 'x'.repeat(129), 'a b']) expect(() => validateId(bad)).toThrow(ContainerError);
  });

  test('exec process from options (built by @berth/runtime-spec): bad options are INVALID_ARGUMENT naming the field', () => {
    const base = { user: { uid: 1, gid: 1 }, args: ['sleep', '1'], env: ['A=1'], cwd: '/' };
    expect(execProcessFrom(base, { args: ['sh'], env: ['A=2'] }, { uid: 5, gid: 6, additionalGids: [], home: '/h' })).toMatchObject({
      user: { uid: 5, gid: 6 },
      args: ['sh'],
      env: ['A=2', 'HOME=/h'],
    });
    const invalid = (fn: () => unknown, message: RegExp) =>
      expect(fn).toThrow(expect.objectContaining({ name: 'ContainerError', code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }));
    invalid(() => execProcessFrom(base, { args: [] }, undefined), /^exec: args: no command given/);
    invalid(() => execProcessFrom(base, { args: ['x'], cwd: 'rel' }, undefined), /^exec: cwd: must be an absolute path/);
    invalid(() => execProcessFrom(base, { args: ['x'], env: ['=bad'] }, undefined), /^exec: env\[0\]: invalid environment variable/);
  });

  test('a caller-built exec process is checked; terminal follows the stdio, consoleSize goes', () => {
    const process = { user: { uid: 2, gid: 3 }, args: ['id'], env: ['A=1'], cwd: '/', terminal: false, consoleSize: { height: 1, width: 1 } };
    expect(checkedExecProcess(process, true)).toEqual({ user: { uid: 2, gid: 3 }, args: ['id'], env: ['A=1'], cwd: '/', terminal: true });
    expect(checkedExecProcess({ ...process, env: undefined as unknown as string[] }, false).env).toEqual([]);
    for (const [bad, message] of [
      [{ ...process, args: [] }, /process.args/],
      [{ ...process, cwd: 'rel' }, /process.cwd/],
      [{ ...process, user: { uid: 'root' } }, /process.user/],
      [{ ...process, env: 'A=1' }, /process.env/],
    ] as const) {
      expect(() => checkedExecProcess(bad as never, false)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }));
    }
  });
});

describe("a stopped container's delete without runc: when runc must do it", () => {
  const state = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: 'c',
      init_process_pid: 1,
      init_process_start: 1,
      rootless: false,
      intel_rdt_path: '',
      cgroup_paths: { '': '/sys/fs/cgroup/unified/p/c', memory: '/sys/fs/cgroup/memory/p/c', cpu: '/sys/fs/cgroup/cpu,cpuacct/p/c', cpuacct: '/sys/fs/cgroup/cpu,cpuacct/p/c' },
      config: { namespaces: [{ type: 'NEWPID', path: '' }, { type: 'NEWNS', path: '' }], cgroups: { Systemd: false }, Hooks: null, ...config },
      ...extra,
    });

  test('its own PID namespace, cgroupfs, no hooks: every cgroup path, once', () => {
    expect(stoppedDeletePlan(state())).toEqual({
      cgroupPaths: ['/sys/fs/cgroup/unified/p/c', '/sys/fs/cgroup/memory/p/c', '/sys/fs/cgroup/cpu,cpuacct/p/c'],
    });
    expect(stoppedDeletePlan(state({ Hooks: { prestart: [{ path: '/x' }], poststop: [] } }))).toMatchObject({ cgroupPaths: expect.any(Array) });
  });

  test.each([
    ['poststop hooks', state({ Hooks: { poststop: [{ path: '/bin/true' }] } })],
    ['a PID namespace shared with the host', state({ namespaces: [{ type: 'NEWNS', path: '' }] })],
    ["another container's PID namespace", state({ namespaces: [{ type: 'NEWPID', path: '/proc/9/ns/pid' }] })],
    ['the systemd cgroup driver', state({ cgroups: { Systemd: true } })],
    ['rootless', state({}, { rootless: true })],
    ['Intel RDT', state({}, { intel_rdt_path: '/sys/fs/resctrl/c' })],
    ['a cgroup path outside /sys/fs/cgroup', state({}, { cgroup_paths: { memory: '/etc' } })],
    ['a cgroup path that climbs out', state({}, { cgroup_paths: { memory: '/sys/fs/cgroup/../../etc' } })],
    ['no config', JSON.stringify({ id: 'c' })],
    ['not JSON', '{'],
  ])('%s', (_, text) => {
    expect(typeof stoppedDeletePlan(text)).toBe('string');
  });
});

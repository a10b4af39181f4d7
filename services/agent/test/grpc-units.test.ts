// The pure parts of the agent service layer (error mapping, conversions,
// /proc and --version parsers, namespaces) and the agent.task.exit retry queue,
// which is given a bus that fails on purpose (a real outage is in
// grpc-events.test.ts).
import * as grpc from '@grpc/grpc-js';
import { describe, expect, test } from 'vitest';
import { agent, eventPayloads } from '@berth/api';
import type { OciSpec } from '@berth/runtime-spec';
import { ContainerError, MountError } from '../src/errors.js';
import { grpcError } from '../src/grpc/errors.js';
import { exitStatusMessage, jsonObject, requestSignal, taskState } from '../src/grpc/convert.js';
import { NamespaceBook, withNamespace } from '../src/events/namespaces.js';
import { exitEventId, TaskEvents } from '../src/events/task-events.js';
import { hostCpuTimeNs, bootTimeMs } from '../src/node/host.js';
import { execIdsByPid, parseNetDev, parseProcStat, parseProcStatus } from '../src/node/processes.js';
import { cniVersionFromOutput, versionFromOutput } from '../src/node/versions.js';
import { goArch } from '../src/grpc/agent.js';
import { eventually } from './helpers/suite.js';

describe('error mapping', () => {
  test.each([
    ['NOT_FOUND', grpc.status.NOT_FOUND],
    ['ALREADY_EXISTS', grpc.status.ALREADY_EXISTS],
    ['INVALID_ARGUMENT', grpc.status.INVALID_ARGUMENT],
    ['NOT_RUNNING', grpc.status.FAILED_PRECONDITION],
    ['IS_RUNNING', grpc.status.FAILED_PRECONDITION],
    ['INVALID_STATE', grpc.status.FAILED_PRECONDITION],
    ['EXIT_UNKNOWN', grpc.status.DATA_LOSS],
    ['RUNTIME_FAILED', grpc.status.INTERNAL],
  ] as const)('%s becomes %s with the message kept', (code, status) => {
    const err = grpcError(new ContainerError(code, `container c1: ${code}`));
    expect(err.code).toBe(status);
    expect(err.details).toBe(`container c1: ${code}`);
  });

  test('a command that cannot run keeps its exit code in the message and the trailer', () => {
    const err = grpcError(new ContainerError('COMMAND_NOT_FOUND', 'container c1: exec: "x": executable file not found in $PATH', { exitCode: 127 }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/executable file not found.*\(exit code 127\)$/);
    expect(err.metadata?.get('berth-exit-code')).toEqual(['127']);
  });

  test('mount errors are bad input; anything else is INTERNAL', () => {
    expect(grpcError(new MountError('/t', 'cannot mount')).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(grpcError(new Error('boom'))).toMatchObject({ code: grpc.status.INTERNAL, details: 'boom' });
  });
});

describe('conversions', () => {
  test('exit status: signal number from the name, time as a Timestamp', () => {
    expect(exitStatusMessage({ exitCode: 137, signal: 'SIGKILL', oomKilled: true, exitedAt: '2024-01-02T03:04:05.678Z' })).toEqual({
      exitCode: 137,
      signal: 9,
      oomKilled: true,
      exitedAt: { seconds: 1704164645, nanos: 678_000_000 },
    });
  });

  test('task state: stopped tasks have pid 0 and their exit', () => {
    const s = taskState(
      { id: 'c1', status: 'stopped', pid: 42, bundle: '/b', rootfs: '/b/rootfs', tty: false, stdin: false, logPath: '/l', createdAt: '2024-01-01T00:00:00.000Z', exit: { exitCode: 3, oomKilled: false, exitedAt: '2024-01-01T00:00:01.000Z' } },
      ['e1'],
    );
    expect(s).toMatchObject({ containerId: 'c1', status: agent.TaskStatus.STOPPED, pid: 0, bundlePath: '/b', exitStatus: { exitCode: 3 }, execIds: ['e1'] });
  });

  test('JSON fields and signals are checked', () => {
    expect(jsonObject(Buffer.from('{"a":1}'), 'x_json')).toEqual({ a: 1 });
    expect(() => jsonObject(Buffer.from(''), 'x_json')).toThrow(/x_json is required/);
    expect(() => jsonObject(Buffer.from('[]'), 'x_json')).toThrow(/must be a JSON object, got an array/);
    expect(() => jsonObject(Buffer.from('{'), 'x_json')).toThrow(/not valid JSON/);
    expect(requestSignal(15)).toBe(15);
    expect(() => requestSignal(0)).toThrow(/invalid signal 0/);
    expect(() => requestSignal(65)).toThrow(/invalid signal 65/);
  });

  test('GOARCH names', () => {
    expect(goArch('x64')).toBe('amd64');
    expect(goArch('arm64')).toBe('arm64');
  });
});

describe('/proc and --version parsers', () => {
  test('stat, status and the exec a process belongs to', () => {
    const stat = '1234 (sh (weird) name) S 1200 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5000 1000 10 0';
    expect(parseProcStat(stat)).toEqual({ ppid: 1200, utime: 7, stime: 3, starttime: 5000 });
    expect(parseProcStatus('Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t    1024 kB\n')).toEqual({ uid: 1000, rssBytes: 1024 * 1024 });
    const procs = [
      { pid: 10, ppid: 1 },
      { pid: 20, ppid: 10 },
      { pid: 30, ppid: 5 },
      { pid: 31, ppid: 30 },
    ];
    expect(execIdsByPid(procs, new Map([[30, 'e1']]))).toEqual(new Map([[30, 'e1'], [31, 'e1']]));
  });

  test('net/dev without loopback; host CPU time and boot time from /proc/stat', () => {
    const netdev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0',
      '  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(netdev)).toEqual([
      { name: 'eth0', rxBytes: 2000, rxPackets: 20, rxErrors: 1, rxDropped: 2, txBytes: 3000, txPackets: 30, txErrors: 3, txDropped: 4 },
    ]);
    const procStat = 'cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 50 0 25 500 5 0 2 0 0 0\nbtime 1700000000\n';
    expect(hostCpuTimeNs(procStat)).toBe(1165 * 10_000_000);
    expect(bootTimeMs(procStat)).toBe(1_700_000_000_000);
  });

  test('component versions', () => {
    expect(versionFromOutput('runc version 1.1.5+ds1\ncommit: 1.1.5\nspec: 1.0.2-dev')).toBe('1.1.5+ds1');
    expect(versionFromOutput('conmon version 2.1.6\ncommit: unknown')).toBe('2.1.6');
    expect(cniVersionFromOutput('CNI bridge plugin v1.3.0\nCNI protocol versions supported: 0.1.0, 1.0.0')).toBe('1.3.0');
    expect(cniVersionFromOutput('CNI bridge plugin version unknown\nCNI protocol versions supported: 0.1.0, 0.4.0, 1.0.0')).toBe('unknown (CNI spec 1.0.0)');
  });
});

describe('namespaces', () => {
  test('the annotation wins; otherwise the fallback is written into the spec; bad names are refused', () => {
    const spec = { ociVersion: '1.0.2', annotations: { 'org.berth.namespace': 'team-a' } } as unknown as OciSpec;
    expect(withNamespace(spec, 'default')).toEqual({ spec, namespace: 'team-a' });
    const bare = withNamespace({ ociVersion: '1.0.2' } as OciSpec, 'team-b');
    expect(bare.namespace).toBe('team-b');
    expect(bare.spec.annotations).toEqual({ 'org.berth.namespace': 'team-b' });
    expect(() => withNamespace({ ociVersion: '1.0.2', annotations: { 'org.berth.namespace': 'a.b' } } as unknown as OciSpec, 'default')).toThrow(/org.berth.namespace/);
    expect(() => withNamespace({ ociVersion: '1.0.2' } as OciSpec, 'rpc')).toThrow(/reserved/);
  });
});

describe('agent.task.exit retry queue', () => {
  function setup(failures: number) {
    const published: Array<{ namespace: string; type: string; payload: unknown; id: string | undefined }> = [];
    let attempts = 0;
    const bus = {
      node: 'n1',
      publish: async (namespace: string, type: string, payload: unknown, opts?: { id?: string }) => {
        attempts++;
        if (attempts <= failures) throw new Error('no NATS');
        published.push({ namespace, type, payload, id: opts?.id });
        return { id: String(attempts), type, source: 'agent', node: 'n', namespace, time: new Date().toISOString(), payload };
      },
    };
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (_o: object, m: string) => void warnings.push(m), error: () => undefined };
    const namespaces = new NamespaceBook('default');
    namespaces.remember('c2', 'team-a');
    const ev = new TaskEvents({
      bus: bus as never,
      logger,
      namespaces,
      initPid: async (id) => (id === 'c1' ? 100 : 200),
      bundleOf: async () => undefined,
      retryMinMs: 5,
      retryMaxMs: 20,
    });
    return { ev, published, warnings, attempts: () => attempts };
  }

  test('retries until the publish succeeds, in order, each exit once', async () => {
    const { ev, published, warnings } = setup(4);
    ev.exited('c1', { exitCode: 0, oomKilled: false, exitedAt: '2024-01-01T00:00:00.000Z' });
    ev.exited('c1', { exitCode: 0, oomKilled: false, exitedAt: '2024-01-01T00:00:00.000Z' });
    ev.exited('c2', { exitCode: 137, signal: 'SIGKILL', oomKilled: true, exitedAt: '2024-01-01T00:00:01.000Z' });
    await eventually(() => (published.length === 2 ? true : undefined), 'both exits published');
    expect(warnings.filter((w) => w.includes('retrying'))).toHaveLength(4);
    const decoded = published.map((p) => ({ namespace: p.namespace, type: p.type, exit: eventPayloads['tasks.exit'].fromJSON(p.payload) }));
    expect(decoded).toMatchObject([
      { namespace: 'default', type: 'agent.task.exit', exit: { containerId: 'c1', pid: 100, exitStatus: { exitCode: 0 } } },
      { namespace: 'team-a', type: 'agent.task.exit', exit: { containerId: 'c2', pid: 200, exitStatus: { exitCode: 137, signal: 9, oomKilled: true } } },
    ]);
    expect(ev.pending).toBe(0);
    // The envelope id comes from the exit, so a later re-report is stored once by JetStream.
    expect(published[0]?.id).toBe(exitEventId('n1', 'c1', '', '2024-01-01T00:00:00.000Z'));
    expect(exitEventId('n1', 'c1', '', '2024-01-01T00:00:00.000Z')).not.toBe(exitEventId('n1', 'c1', 'e1', '2024-01-01T00:00:00.000Z'));
    await ev.close();
  });

  test('sends each exit without waiting for the confirmation of the one before', async () => {
    const sent: Array<{ id: string; confirm: () => void }> = [];
    const bus = {
      node: 'n1',
      publish: (_ns: string, _type: string, payload: unknown) =>
        new Promise((resolve) => sent.push({ id: eventPayloads['tasks.exit'].fromJSON(payload).containerId, confirm: () => resolve({}) })),
    };
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const ev = new TaskEvents({ bus: bus as never, logger, namespaces: new NamespaceBook('default'), initPid: async () => 1, bundleOf: async () => undefined });
    ev.exited('c1', { exitCode: 0, oomKilled: false, exitedAt: '2024-01-01T00:00:00.000Z' });
    ev.exited('c2', { exitCode: 0, oomKilled: false, exitedAt: '2024-01-01T00:00:01.000Z' });
    await eventually(() => (sent.length === 2 ? true : undefined), 'both exits sent before any confirmation');
    expect(sent.map((s) => s.id)).toEqual(['c1', 'c2']);
    sent[1]?.confirm();
    await eventually(() => (ev.pending === 1 ? true : undefined), 'c2 confirmed on its own');
    sent[0]?.confirm();
    await eventually(() => (ev.pending === 0 ? true : undefined), 'c1 confirmed');
    await ev.close();
  });

  test('close stops retrying after its grace period and says what is left', async () => {
    const { ev, published } = setup(Number.MAX_SAFE_INTEGER);
    ev.exited('c1', { exitCode: 1, oomKilled: false, exitedAt: '2024-01-01T00:00:00.000Z' });
    await eventually(() => (ev.pending === 1 ? true : undefined), 'the exit to be queued');
    await ev.close(50);
    expect(published).toHaveLength(0);
    expect(ev.pending).toBe(1);
  });
});

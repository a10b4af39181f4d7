// The pure pieces around the contestants: their output parsed, their
// configuration generated, the command line read.
import { describe, expect, it } from 'vitest';
import { countsFor, SCENARIOS } from '../src/harness.js';
import { parseCpuModel, parseOsRelease, parseToolVersion } from '../src/machine.js';
import { parseBenchArgs, parseScenarioList, UsageError } from '../src/options.js';
import { withoutBerthEnv } from '../src/peers/berth.js';
import { containerdConfig, containerdPaths, DISABLED_PLUGINS } from '../src/peers/containerd.js';
import { floorSpec, layerTarFlags } from '../src/peers/runc.js';
import { parseRunRmEvent } from '../src/scenarios/s1-run-rm.js';
import { leafSnapshots, parseCtrSnapshots, unpackThroughput } from '../src/scenarios/s2-cold-pull.js';
import { awaitAllRunning, notRunning, parseCtrTasks } from '../src/scenarios/s3-fan-out.js';
import { berthExitSubjects, EventBook, exitScript, parseBerthExit, parseCtrEventLine, rfc3339ToMs } from '../src/scenarios/s5-exit-events.js';

describe('containerd config', () => {
  const paths = containerdPaths('/tmp/bench-c');

  it('keeps root, state and sockets under the private dir and turns off what reaches outside', () => {
    const toml = containerdConfig(paths);
    expect(toml).toContain('version = 2');
    expect(toml).toContain('root = "/tmp/bench-c/root"');
    expect(toml).toContain('state = "/tmp/bench-c/state"');
    expect(toml).toMatch(/\[grpc\]\n {2}address = "\/tmp\/bench-c\/containerd.sock"/);
    expect(toml).toMatch(/\[ttrpc\]\n {2}address = "\/tmp\/bench-c\/containerd.sock.ttrpc"/);
    expect(toml).toMatch(/\[debug\]\n {2}address = ""/);
    expect(toml).toMatch(/\[metrics\]\n {2}address = ""/);
    for (const plugin of ['io.containerd.grpc.v1.cri', 'io.containerd.internal.v1.opt']) {
      expect(DISABLED_PLUGINS).toContain(plugin);
      expect(toml).toContain(`"${plugin}"`);
    }
  });

  it('keeps the runtime v1 plugin, which the tasks service needs', () => {
    expect(DISABLED_PLUGINS as readonly string[]).not.toContain('io.containerd.runtime.v1.linux');
  });
});

describe('runc floor', () => {
  it('runs the given command without a terminal on a read-only rootfs, keeping the rest of runc spec', () => {
    const spec = { ociVersion: '1.0.2-dev', process: { terminal: true, args: ['sh'], cwd: '/' }, root: { path: 'rootfs', readonly: true }, linux: { namespaces: [{ type: 'pid' }] } };
    expect(floorSpec(spec, ['echo', 'hello'])).toEqual({
      ociVersion: '1.0.2-dev',
      process: { terminal: false, args: ['echo', 'hello'], cwd: '/' },
      root: { path: 'rootfs', readonly: true },
      hostname: 'runc-floor',
      linux: { namespaces: [{ type: 'pid' }] },
    });
  });

  it('picks tar’s decompression for each layer media type', () => {
    expect(layerTarFlags('application/vnd.oci.image.layer.v1.tar+gzip')).toEqual(['-z']);
    expect(layerTarFlags('application/vnd.docker.image.rootfs.diff.tar.gzip')).toEqual(['-z']);
    expect(layerTarFlags('application/vnd.oci.image.layer.v1.tar+zstd')).toEqual(['--zstd']);
    expect(layerTarFlags('application/vnd.oci.image.layer.v1.tar')).toEqual([]);
    expect(() => layerTarFlags('application/json')).toThrow(/"application\/json" is not a tar/);
  });
});

describe('ctr output', () => {
  it('parses snapshots, with and without a parent', () => {
    const text = ['KEY                 PARENT     KIND', 'sha256:aaa                     Committed', 'c1    sha256:aaa  Active', ''].join('\n');
    expect(parseCtrSnapshots(text)).toEqual([
      { key: 'sha256:aaa', parent: '' },
      { key: 'c1', parent: 'sha256:aaa' },
    ]);
  });

  it('parses tasks', () => {
    const text = 'TASK    PID     STATUS    \nc10     3482    RUNNING\nc5      0       STOPPED\n';
    expect(parseCtrTasks(text)).toEqual([
      { id: 'c10', pid: 3482, status: 'RUNNING' },
      { id: 'c5', pid: 0, status: 'STOPPED' },
    ]);
  });

  it('parses an event line of ctr events', () => {
    const line =
      '2026-11-27 21:57:59.768222629 +0000 UTC bench /tasks/exit {"container_id":"e1","id":"e1","pid":5332,"exit_status":3,"exited_at":"2026-11-27T21:57:59.768013761Z"}';
    expect(parseCtrEventLine(line)).toEqual({
      namespace: 'bench',
      topic: '/tasks/exit',
      event: { container_id: 'e1', id: 'e1', pid: 5332, exit_status: 3, exited_at: '2026-11-27T21:57:59.768013761Z' },
    });
    expect(parseCtrEventLine('garbage')).toBeUndefined();
    expect(parseCtrEventLine('2026-11-27 21:57:59 +0000 UTC bench /tasks/exit {not json}')).toBeUndefined();
  });
});

describe('waiting for started containers to be reported running', () => {
  it('counts the states of those not running, absent ones included', () => {
    const states = new Map([
      ['a', 'running'],
      ['b', 'exited (255)'],
      ['c', 'unknown'],
      ['d', 'unknown'],
    ]);
    expect(notRunning(['a', 'b', 'c', 'd', 'e'], states)).toEqual({ 'exited (255)': 1, unknown: 2, absent: 1 });
    expect(notRunning(['a'], states)).toEqual({});
  });

  it('returns nothing when all run at once, and how long it took when they run later', async () => {
    expect(await awaitAllRunning('x', ['a'], async () => new Map([['a', 'running']]))).toBeUndefined();
    let calls = 0;
    const late = await awaitAllRunning('x', ['a', 'b'], async () => {
      calls += 1;
      return new Map([
        ['a', 'running'],
        ['b', calls === 1 ? 'unknown' : 'running'],
      ]);
    });
    expect(late?.firstStates).toEqual({ unknown: 1 });
    expect(late?.waitedMs).toBeGreaterThanOrEqual(900);
  });

  it('fails naming the states of those that never run', async () => {
    await expect(awaitAllRunning('berth', ['a', 'b'], async () => new Map([['a', 'exited (255)']]), 0)).rejects.toThrow(
      /berth: 2 of 2 containers were still not reported running 0 s after every start had returned \(now: exited \(255\) ×1, absent ×1/,
    );
  });
});

describe('berth exit events', () => {
  const envelope = (payload: object, extra: object = {}) =>
    JSON.stringify({ id: 'x', type: 'tasks.exit', source: 'tasks', node: 'n', namespace: 'bench', time: '2026-01-01T00:00:00.000Z', payload, ...extra });

  it('takes container, exit code and exit time from the public tasks.exit', () => {
    expect(parseBerthExit(envelope({ containerId: 'c1', execId: '', pid: 9, exitStatus: { exitCode: 3, exitedAt: '2026-01-01T00:00:01.250Z' } }), 12.5)).toEqual({
      containerId: 'c1',
      kind: 'public',
      label: 'tasks.exit from tasks',
      exitCode: 3,
      exitedAtMs: Date.UTC(2026, 0, 1, 0, 0, 1, 250),
      receivedAt: 12.5,
    });
    expect(parseBerthExit(envelope({ containerId: 'c1', exitStatus: { exitCode: 3 } }), 1)?.exitedAtMs).toBeUndefined();
  });

  it('tells the agent’s exit report from the public event', () => {
    const e = parseBerthExit(envelope({ containerId: 'c1', exitStatus: { exitCode: 3 } }, { type: 'agent.task.exit', source: 'agent' }), 1);
    expect(e).toMatchObject({ kind: 'report', label: 'agent.task.exit from agent' });
  });

  it('ignores exec exits and other event types', () => {
    expect(parseBerthExit(envelope({ containerId: 'c1', execId: 'e1', exitStatus: { exitCode: 0 } }), 1)).toBeUndefined();
    expect(parseBerthExit(envelope({ containerId: 'c1' }, { type: 'tasks.started' }), 1)).toBeUndefined();
  });

  it('listens to the namespace’s tasks.exit and every agent’s report', () => {
    expect(berthExitSubjects('bench')).toEqual(['berth.bench.events.tasks.exit', 'berth.*.events.agent.task.exit']);
  });

  it('writes the FIFO as the container’s last act before exiting', () => {
    expect(exitScript('x.fifo')).toEqual(['sh', '-c', 'sleep 0.3; echo x > /out/x.fifo; exit 3']);
  });
});

describe('run --rm over the bus: the events waited for', () => {
  it('takes the removed container of containers.deleted and the init exit code of tasks.exit', () => {
    expect(parseRunRmEvent(JSON.stringify({ type: 'containers.deleted', payload: { id: 'c1', name: 'bench-run-1' } }))).toEqual({ type: 'containers.deleted', containerId: 'c1' });
    expect(parseRunRmEvent(JSON.stringify({ type: 'tasks.exit', payload: { containerId: 'c1', exitStatus: { exitCode: 3 } } }))).toEqual({ type: 'tasks.exit', containerId: 'c1', exitCode: 3 });
    // proto JSON leaves a zero exit code out
    expect(parseRunRmEvent(JSON.stringify({ type: 'tasks.exit', payload: { containerId: 'c1', exitStatus: {} } }))?.exitCode).toBe(0);
  });

  it('ignores exec exits, other types, events without an id and what is not JSON', () => {
    expect(parseRunRmEvent(JSON.stringify({ type: 'tasks.exit', payload: { containerId: 'c1', execId: 'e1', exitStatus: { exitCode: 1 } } }))).toBeUndefined();
    expect(parseRunRmEvent(JSON.stringify({ type: 'containers.created', payload: { id: 'c1' } }))).toBeUndefined();
    expect(parseRunRmEvent(JSON.stringify({ type: 'containers.deleted', payload: {} }))).toBeUndefined();
    expect(parseRunRmEvent('not json')).toBeUndefined();
  });
});

describe('exit times', () => {
  it('reads RFC 3339 times down to fractions of a millisecond', () => {
    expect(rfc3339ToMs('2026-11-27T21:57:59.768013761Z')).toBeCloseTo(Date.UTC(2026, 10, 27, 21, 57, 59, 768) + 0.013761, 6);
    expect(rfc3339ToMs('2026-11-27T21:57:59Z')).toBe(Date.UTC(2026, 10, 27, 21, 57, 59));
    expect(rfc3339ToMs('2026-11-27T22:57:59.5+01:00')).toBe(Date.UTC(2026, 10, 27, 21, 57, 59, 500));
    expect(rfc3339ToMs('yesterday')).toBeUndefined();
    expect(rfc3339ToMs(undefined)).toBeUndefined();
  });
});

describe('EventBook', () => {
  const ev = (containerId: string, label: string, receivedAt: number) => ({ containerId, kind: 'public' as const, label, exitCode: 3, exitedAtMs: undefined, receivedAt });

  it('resolves with events already in and those arriving later', async () => {
    const book = new EventBook();
    book.add(ev('a', 'agent', 1));
    book.add(ev('b', 'agent', 2));
    const waiting = book.waitFor('a', (got) => got.length >= 2, 1000);
    book.add(ev('a', 'tasks', 3));
    expect((await waiting).map((e) => e.label)).toEqual(['agent', 'tasks']);
  });

  it('rejects after the timeout, naming what did arrive', async () => {
    const book = new EventBook();
    book.add(ev('a', 'agent', 1));
    await expect(book.waitFor('a', (got) => got.length >= 2, 20)).rejects.toThrow(/exit event of a not complete after 20 ms \(got: agent\)/);
  });
});

describe('snapshot removal order', () => {
  it('removes children before their parents', () => {
    const extra = [
      { key: 'l1', parent: '' },
      { key: 'l2', parent: 'l1' },
      { key: 'l3', parent: 'l2' },
      { key: 'other', parent: '' },
    ];
    expect(leafSnapshots(extra)).toEqual(['l3', 'other']);
  });
});

describe('unpack throughput', () => {
  it('files/s and MB/s (10^6 bytes) of the unpacked layer over the time taken', () => {
    expect(unpackThroughput({ inodes: 10_000, bytes: 250_000_000 }, 2_000)).toEqual({ filesPerSecond: 5_000, mbPerSecond: 125 });
  });
});

describe('machine info parsing', () => {
  it('reads the CPU model and OS name', () => {
    expect(parseCpuModel('processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n')).toBe('AMD EPYC 7B13');
    expect(parseCpuModel('')).toBe('unknown');
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe('Debian GNU/Linux 12 (bookworm)');
  });

  it('finds the version in each tool’s --version output', () => {
    expect(parseToolVersion('containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n')).toBe('1.6.20~ds1');
    expect(parseToolVersion('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n')).toBe('1.1.5+ds1');
    expect(parseToolVersion('nats-server: v2.9.10\n')).toBe('2.9.10');
    expect(parseToolVersion('conmon version 2.1.6\ncommit: unknown\n')).toBe('2.1.6');
    expect(parseToolVersion('0.1.0\n')).toBe('0.1.0');
  });
});

describe('command line', () => {
  it('runs every scenario by default', () => {
    expect(parseBenchArgs([])).toEqual({ scenarios: [1, 2, 3, 4, 5, 6], quick: false, help: false });
  });

  it('reads lists, ranges and every option', () => {
    expect(
      parseBenchArgs(['--scenarios', '6,1-2', '--runs', '4', '--warmup', '0', '--containers', '10', '--json', 'o.json', '--markdown', 'o.md', '--quick']),
    ).toEqual({ scenarios: [1, 2, 6], runs: 4, warmup: 0, containers: 10, json: 'o.json', markdown: 'o.md', quick: true, help: false });
    expect(parseBenchArgs(['--report', 'r.json', '--markdown', 'r.md'])).toMatchObject({ report: 'r.json', markdown: 'r.md' });
  });

  it('rejects unknown scenarios, bad counts and unknown flags with a usage error', () => {
    expect(() => parseScenarioList('7')).toThrow(/no scenario 7/);
    expect(() => parseScenarioList('3-1')).toThrow(/backwards/);
    expect(() => parseScenarioList('a')).toThrow(UsageError);
    expect(() => parseBenchArgs(['--runs', '0'])).toThrow(/--runs must be at least 1/);
    expect(() => parseBenchArgs(['--runs', '2.5'])).toThrow(/--runs takes a whole number/);
    expect(() => parseBenchArgs(['--fast'])).toThrow(UsageError);
  });

  it('lays --runs/--warmup/--containers over the defaults or the quick counts', () => {
    const fanOut = SCENARIOS.find((s) => s.id === 3)!;
    const cli = SCENARIOS.find((s) => s.id === 6)!;
    expect(countsFor(fanOut, { quick: false })).toEqual(fanOut.defaults);
    expect(countsFor(fanOut, { quick: true, containers: 7 })).toEqual({ ...fanOut.quick, containers: 7 });
    expect(countsFor(cli, { quick: false, runs: 3, warmup: 0, containers: 9 })).toEqual({ warmup: 0, runs: 3 });
  });

  it('has scenarios 1 to 6, each with counts for --quick', () => {
    expect(SCENARIOS.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const s of SCENARIOS) expect(s.quick.runs).toBeLessThanOrEqual(s.defaults.runs);
  });

  it('drops BERTH_* settings from the environment given to the private stack', () => {
    expect(withoutBerthEnv({ PATH: '/bin', BERTH_ROOT: '/var/lib/berth', BERTH_NATS_URL: 'x' })).toEqual({ PATH: '/bin' });
  });
});

// The lifecycle decisions of the tasks service, against fake neighbours.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tasks, types } from '@berth/api';
import { exitKey } from '../src/lifecycle/exit-status.js';
import { BUSYBOX, eventually, grpcError, Harness, startFailure } from './fakes.js';

const { RestartPolicyName: R } = tasks;

function spec(overrides: Partial<tasks.ContainerSpec> = {}): tasks.ContainerSpec {
  return { ...tasks.ContainerSpec.fromPartial({ image: 'busybox' }), ...overrides };
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return { code: (err as { code: number }).code, message: (err as Error).message };
  }
  throw new Error('expected a failure');
};

let h: Harness;
const NS = 'default';

beforeEach(async () => {
  h = new Harness();
  await h.engine.start();
});
afterEach(async () => {
  await h.close();
});

async function run(name: string, s: Partial<tasks.ContainerSpec> = {}) {
  const c = await h.engine.containers.create(NS, { id: '', name, spec: spec(s) });
  await h.engine.tasks.startTask(NS, name, '');
  return c;
}

describe('create', () => {
  it('resolves the image, prepares the snapshot on its chain id, builds the spec and records it', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'web', spec: spec({ user: 'app', env: ['A=1'] }) });
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    expect(c.phase).toBe('created');
    expect(c.imageName).toBe(BUSYBOX.name);
    expect(c.imageId).toBe(BUSYBOX.configDigest);
    expect(c.spec.snapshotKey).toBe(c.id);
    expect(c.spec.imageTarget?.digest).toBe(BUSYBOX.target.digest);
    expect(h.snapshots.snapshots.get(c.id)?.parent).toBe(BUSYBOX.chainId);
    expect(c.runtimeSpec.process.args).toEqual(['sh']);
    // The user stays a name: the agent resolves it in the image's /etc/passwd when it creates the task.
    expect(c.runtimeSpec.process.user).toEqual({ uid: 0, gid: 0 });
    expect(c.runtimeSpec.process.env.some((e) => e.startsWith('HOME='))).toBe(false);
    expect(c.runtimeSpec.process.env).toContain('A=1');
    expect(c.runtimeSpec.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 20_000, hard: 20_000 }]);
    expect(c.runtimeSpec.hostname).toBe(c.id.slice(0, 12));
    expect(h.events.ofType('containers.created')).toHaveLength(1);
    expect(h.engine.containers.get(NS, 'web').id).toBe(c.id);
  });

  it('generates a docker-style name when none is given', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: '', spec: spec() });
    expect(c.name).toMatch(/^[a-z]+_[a-z]+\d?$/);
  });

  it('refuses a duplicate name, naming the container that has it, and changes nothing', async () => {
    const first = await h.engine.containers.create(NS, { id: '', name: 'web', spec: spec() });
    const err = await codeOf(h.engine.containers.create(NS, { id: '', name: 'web', spec: spec() }));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.message).toContain(first.id);
    expect(h.snapshots.snapshots.size).toBe(1);
    expect(h.engine.containers.list(NS, [])).toHaveLength(1);
  });

  it('allows the same name in another namespace, and each namespace sees only its own', async () => {
    await h.engine.containers.create('a', { id: '', name: 'web', spec: spec() });
    await h.engine.containers.create('b', { id: '', name: 'web', spec: spec() });
    expect(h.engine.containers.list('a', [])).toHaveLength(1);
    expect((await codeOf(Promise.resolve().then(() => h.engine.containers.get('c', 'web')))).code).toBe(status.NOT_FOUND);
  });

  it('answers NOT_FOUND for an unknown image and leaves no record or snapshot', async () => {
    const err = await codeOf(h.engine.containers.create(NS, { id: '', name: 'xx', spec: spec({ image: 'nope:1' }) }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.message).toContain('nope:1');
    expect(h.engine.runtime.store.all()).toHaveLength(0);
    expect(h.snapshots.snapshots.size).toBe(0);
  });

  it('refuses a spec that cannot be built (no command at all) before making anything', async () => {
    h.images.images.set('bare', { ...BUSYBOX, config: { Env: ['PATH=/bin'] } });
    const err = await codeOf(h.engine.containers.create(NS, { id: '', name: 'xx', spec: spec({ image: 'bare' }) }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toContain('no command specified');
    expect(h.snapshots.script.calls.filter((c) => c.startsWith('prepare'))).toEqual([]);
    expect(h.engine.runtime.store.all()).toHaveLength(0);
  });

  it('refuses a malformed user, given or the image\'s, before making anything; names are the agent\'s to look up', async () => {
    const given = await codeOf(h.engine.containers.create(NS, { id: '', name: 'xx', spec: spec({ user: 'app:staff:x' }) }));
    expect(given.code).toBe(status.INVALID_ARGUMENT);
    expect(given.message).toBe('user: invalid user "app:staff:x": more than one ":"; expected "user", "uid", "user:group" or "uid:gid"');
    h.images.images.set('odd-user', { ...BUSYBOX, config: { ...BUSYBOX.config, User: 'app:' } });
    const image = await codeOf(h.engine.containers.create(NS, { id: '', name: 'xx', spec: spec({ image: 'odd-user' }) }));
    expect(image.message).toContain('image User: invalid user "app:"');
    expect(h.snapshots.snapshots.size).toBe(0);
    expect(h.engine.runtime.store.all()).toHaveLength(0);
    // A well-formed name this service cannot check is accepted; the agent resolves it at start.
    expect((await h.engine.containers.create(NS, { id: '', name: 'ghostly', spec: spec({ user: 'ghost' }) })).phase).toBe('created');
  });

  it.each([
    ['a relative bind source', { mounts: [{ type: 'bind', source: 'data', target: '/data', options: [] }] }, 'absolute host path'],
    ['a relative mount target', { mounts: [{ type: 'tmpfs', source: '', target: 'data', options: [] }] }, 'absolute'],
    ['an unknown mount type', { mounts: [{ type: 'nfs', source: 'x', target: '/x', options: [] }] }, 'mount type'],
    ['1 byte of memory', { resources: { memoryBytes: 1, memorySwapBytes: 0, nanoCpus: 0, cpuShares: 0, cpusetCpus: '', pidsLimit: 0 } }, 'minimum'],
    ['1 PiB of memory', { resources: { memoryBytes: 2 ** 50, memorySwapBytes: 0, nanoCpus: 0, cpuShares: 0, cpusetCpus: '', pidsLimit: 0 } }, `memory limit ${2 ** 50} bytes is more than the node's memory of ${8 * 1024 ** 3} bytes`],
    ['1000 CPUs', { resources: { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 1000e9, cpuShares: 0, cpusetCpus: '', pidsLimit: 0 } }, 'CPUs'],
    ['a negative pids limit', { resources: { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, cpuShares: 0, cpusetCpus: '', pidsLimit: -7 } }, 'pids'],
    ['a cpuset beyond the host', { resources: { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, cpuShares: 0, cpusetCpus: '0-9', pidsLimit: 0 } }, 'do not exist'],
    ['an unknown capability', { capAdd: ['FLY'] }, 'capability'],
    ['an invalid stop signal', { stopSignal: 'SIGNOPE' }, 'signal'],
    ['a restart policy with --rm', { autoRemove: true, restartPolicy: { name: R.ALWAYS, maxRetries: 0 } }, 'conflicting'],
    ['max retries with always', { restartPolicy: { name: R.ALWAYS, maxRetries: 3 } }, 'on-failure'],
    ['ports with host networking', { networks: [{ network: 'host', aliases: [], ipAddress: '' }], ports: [{ hostIp: '', hostPort: 80, containerPort: 80, protocol: types.Protocol.TCP }] }, 'published ports'],
    ['an invalid port', { ports: [{ hostIp: '', hostPort: 80, containerPort: 70000, protocol: types.Protocol.TCP }] }, 'container port'],
    ['a bad env entry', { env: ['=x'] }, 'env'],
    ['a relative working dir', { workingDir: 'app' }, 'working_dir'],
  ] as [string, Partial<tasks.ContainerSpec>, string][])('refuses %s with INVALID_ARGUMENT and creates nothing', async (_what, bad, words) => {
    const err = await codeOf(h.engine.containers.create(NS, { id: '', name: 'bad', spec: spec(bad) }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toContain(words);
    expect(h.engine.runtime.store.all()).toHaveLength(0);
    expect(h.snapshots.snapshots.size).toBe(0);
  });

  it('refuses a malformed name or id', async () => {
    expect((await codeOf(h.engine.containers.create(NS, { id: '', name: '-x', spec: spec() }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await codeOf(h.engine.containers.create(NS, { id: 'XYZ', name: 'ok', spec: spec() }))).code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('lookup', () => {
  it('finds by full id, name (with or without "/") and unique prefix; refuses an ambiguous prefix', async () => {
    const a = await h.engine.containers.create(NS, { id: `ab1${'0'.repeat(61)}`, name: 'one', spec: spec() });
    const b = await h.engine.containers.create(NS, { id: `ab2${'0'.repeat(61)}`, name: 'two', spec: spec() });
    expect(h.engine.containers.get(NS, a.id).name).toBe('one');
    expect(h.engine.containers.get(NS, '/two').id).toBe(b.id);
    expect(h.engine.containers.get(NS, 'ab1').id).toBe(a.id);
    const ambiguous = await codeOf(Promise.resolve().then(() => h.engine.containers.get(NS, 'ab')));
    expect(ambiguous.code).toBe(status.INVALID_ARGUMENT);
    expect(ambiguous.message).toContain('multiple');
    expect((await codeOf(Promise.resolve().then(() => h.engine.containers.get(NS, 'zz')))).code).toBe(status.NOT_FOUND);
  });
});

describe('start, stop, kill', () => {
  it('sets the task up (netns, network, name files, agent task) and starts it', async () => {
    const c = await run('web', { ports: [{ hostIp: '', hostPort: 0, containerPort: 80, protocol: types.Protocol.TCP }] });
    const rec = h.engine.containers.get(NS, 'web');
    expect(rec.phase).toBe('running');
    expect(h.agent.netns.has(c.id)).toBe(true);
    expect(h.networking.attachments.get(c.id)?.[0]?.ports[0]?.hostPort).toBeGreaterThan(0);
    const task = h.agent.tasks.get(c.id)!;
    expect(task.status).toBe('running');
    expect(task.spec.linux.namespaces).toContainEqual({ type: 'network', path: `/run/berth/netns/${c.id}` });
    expect(task.spec.mounts.map((m) => m.destination)).toEqual(expect.arrayContaining(['/etc/hosts', '/etc/resolv.conf', '/etc/hostname']));
    expect(task.stdio.logPath).toBe(rec.logPath);
    expect(task.user).toBe('');
    expect(task.privileged).toBe(false);
    expect(rec.networks[0]?.address).toMatch(/^10\.88\./);
    expect(h.events.ofType('tasks.started')).toHaveLength(1);
  });

  it('with host networking makes no netns and attaches nothing', async () => {
    const c = await run('hh', { networks: [{ network: 'host', aliases: [], ipAddress: '' }] });
    expect(h.agent.netns.has(c.id)).toBe(false);
    expect(h.networking.attachments.has(c.id)).toBe(false);
    expect(h.agent.tasks.get(c.id)!.spec.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(h.networking.dns.get(c.id)?.hostNetwork).toBe(true);
  });

  it('with --network none leaves the namespace to runc: no agent netns, no attachment, none to tear down', async () => {
    const c = await run('nn', { networks: [{ network: 'none', aliases: [], ipAddress: '' }] });
    expect(h.agent.script.calls.filter((x) => x.startsWith('createNetns'))).toEqual([]);
    expect(h.networking.attachments.has(c.id)).toBe(false);
    // A network namespace of its own, without a path: runc makes it, with loopback up.
    expect(h.agent.tasks.get(c.id)!.spec.linux.namespaces.filter((n) => n.type === 'network')).toEqual([{ type: 'network' }]);
    expect(h.networking.dns.get(c.id)?.hostNetwork).toBe(false);
    await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'nn' }));
    await eventually(() => !h.agent.tasks.has(c.id) && !h.networking.dns.has(c.id), 'teardown');
    expect(h.agent.script.calls.filter((x) => x.startsWith('removeNetns'))).toEqual([]);
    expect(h.networking.script.calls.filter((x) => x.startsWith('detach'))).toEqual([]);
  });

  it('stops with the stop signal, records the exit durably once and tears the task down', async () => {
    const c = await run('web');
    const exit = await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'web' }));
    expect(exit?.exitCode).toBe(143);
    expect(h.agent.kills.map((k) => k.signal)).toEqual([15]);
    const rec = h.engine.containers.get(NS, 'web');
    expect(rec.phase).toBe('stopped');
    expect(rec.exit?.exitCode).toBe(143);
    await eventually(() => !h.agent.tasks.has(c.id) && !h.agent.netns.has(c.id) && !h.networking.attachments.has(c.id), 'teardown');
    await eventually(() => h.events.ofType('tasks.exit').length === 1, 'tasks.exit');
    const ev = h.events.ofType('tasks.exit')[0]!;
    expect(ev.durable).toBe(true);
    expect(ev.id).toMatch(/^[0-9a-f]{64}$/);
    expect(ev.payload).toMatchObject({ containerId: c.id, exitStatus: { exitCode: 143 } });
  });

  it('sends SIGKILL when the stop signal is ignored past the timeout', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'stubborn', spec: spec() });
    h.agent.ignoresSignals.add(c.id);
    await h.engine.tasks.startTask(NS, 'stubborn', '');
    const exit = await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'stubborn', timeoutSeconds: 0 }));
    expect(exit?.exitCode).toBe(137);
    expect(h.agent.kills.map((k) => [k.signal, k.all])).toEqual([
      [15, false],
      [9, true],
    ]);
  });

  it('treats a task that exited just before the stop signal as stopped', async () => {
    const c = await run('quick');
    h.agent.script.failNext('killTask', grpcError(status.FAILED_PRECONDITION, `container ${c.id} is not running`));
    setTimeout(() => h.agent.exit(c.id, 0), 10);
    const exit = await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'quick' }));
    expect(exit?.exitCode).toBe(0);
  });

  it('uses the requested stop signal, and refuses an invalid one', async () => {
    await run('web');
    const bad = await codeOf(h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'web', signal: 'SIGBOGUS' })));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    const exit = await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'web', signal: 'INT' }));
    expect(exit?.exitCode).toBe(130);
  });

  it('kills with names or numbers; an invalid signal is INVALID_ARGUMENT; a stopped container is FAILED_PRECONDITION', async () => {
    await run('web');
    for (const signal of ['SIGNOPE', '0', '65', 'RTMAX+1']) {
      const err = await codeOf(h.engine.tasks.killTask(NS, tasks.KillTaskRequest.fromPartial({ containerId: 'web', signal })));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.message).toContain(signal);
    }
    await h.engine.tasks.killTask(NS, tasks.KillTaskRequest.fromPartial({ containerId: 'web', signal: 'hup' }));
    expect(h.agent.kills.at(-1)?.signal).toBe(1);
    await h.engine.tasks.waitTask(NS, 'web', '');
    const err = await codeOf(h.engine.tasks.killTask(NS, tasks.KillTaskRequest.fromPartial({ containerId: 'web', signal: '9' })));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
  });

  it('records no exit code for a start failure the agent gave none, whatever its message says', async () => {
    await h.engine.containers.create(NS, { id: '', name: 'plain', spec: spec() });
    h.agent.script.failNext('createTask', grpcError(status.INTERNAL, 'open /no/such/file: no such file or directory'));
    await codeOf(h.engine.tasks.startTask(NS, 'plain', ''));
    const rec = h.engine.containers.get(NS, 'plain');
    expect(rec.exit).toBeUndefined();
    expect(rec.error).toContain('no such file or directory');
  });

  it('records a start failure with Docker\'s exit code 127 and leaves nothing behind', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'xx', spec: spec({ cmd: { args: ['nope'] } }) });
    h.agent.script.failNext('createTask', startFailure('exec: "nope": executable file not found in $PATH', 127));
    const err = await codeOf(h.engine.tasks.startTask(NS, 'xx', ''));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.message).toContain('executable file not found');
    const rec = h.engine.containers.get(NS, 'xx');
    expect(rec.exit?.exitCode).toBe(127);
    expect(rec.error).toContain('nope');
    expect(rec.task).toBe('none');
    expect(h.agent.netns.has(c.id)).toBe(false);
    expect(h.networking.attachments.has(c.id)).toBe(false);
  });

  it('an unknown user is the agent\'s INVALID_ARGUMENT at start: said as is, no exit code invented, nothing left behind', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'ghost', spec: spec({ user: 'ghost:staff' }) });
    const reason = `container ${c.id}: cannot run as user "ghost:staff": unable to find user ghost: no matching entries in passwd file`;
    h.agent.script.failNext('createTask', grpcError(status.INVALID_ARGUMENT, reason));
    const err = await codeOf(h.engine.tasks.startTask(NS, 'ghost', ''));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe(`cannot create the task of container ghost: ${reason}`);
    const rec = h.engine.containers.get(NS, 'ghost');
    expect(rec.phase).toBe('created');
    expect(rec.exit).toBeUndefined();
    expect(rec.task).toBe('none');
    expect(h.agent.netns.has(c.id)).toBe(false);
    expect(h.networking.attachments.has(c.id)).toBe(false);
  });

  it('a privileged container\'s task and execs ask the agent for the node\'s devices and capabilities', async () => {
    const c = await run('priv', { privileged: true });
    expect(h.agent.tasks.get(c.id)!.privileged).toBe(true);
    const execId = await h.engine.tasks.execProcess(NS, tasks.ExecProcessRequest.fromPartial({ containerId: 'priv', process: { args: ['id'] } }));
    expect(h.agent.tasks.get(c.id)!.execs.get(execId)!.privileged).toBe(true);
    const plain = await run('plain');
    const privilegedExec = await h.engine.tasks.execProcess(
      NS,
      tasks.ExecProcessRequest.fromPartial({ containerId: 'plain', process: { args: ['id'], privileged: true } }),
    );
    expect(h.agent.tasks.get(plain.id)!.execs.get(privilegedExec)!.privileged).toBe(true);
  });

  it('waits for an exit, and answers the last exit of a stopped container at once', async () => {
    const c = await run('ww');
    const waiting = h.engine.tasks.waitTask(NS, 'ww', '');
    h.agent.exit(c.id, 3);
    expect((await waiting).exitCode).toBe(3);
    expect((await h.engine.tasks.waitTask(NS, 'ww', '')).exitCode).toBe(3);
  });

  it('starts a stopped container again with a fresh task', async () => {
    const c = await run('again');
    h.agent.exit(c.id, 0);
    await eventually(() => !h.agent.tasks.has(c.id), 'teardown');
    await h.engine.tasks.startTask(NS, 'again', '');
    expect(h.agent.tasks.get(c.id)?.status).toBe('running');
    expect(h.engine.containers.get(NS, 'again').phase).toBe('running');
  });
});

describe('exits', () => {
  it('an exit seen on an attach stream while the start is being recorded is recorded after it (`start -a` of a quick process)', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'quick', spec: spec() });
    await h.engine.tasks.createTask(NS, c.id);
    const opening = await h.engine.tasks.openAttach(NS, { containerId: c.id, execId: '', stdin: false, stdout: true, stderr: true });
    if (opening.kind !== 'stream') throw new Error('expected an attach stream');
    const frames: string[] = [];
    const relay = (async () => {
      for await (const m of opening.stream) frames.push(m.frame?.$case ?? '');
    })();
    const release = h.agent.script.pauseAfterNext('startTask');
    const starting = h.engine.tasks.startTask(NS, c.id, '');
    await eventually(() => h.agent.tasks.get(c.id)?.status === 'running', 'the agent to start the process');
    // The process ends before the service has recorded its start; the agent's exit frame arrives first.
    h.agent.exit(c.id, 3);
    const agentStream = h.agent.attachSessions.at(-1)!;
    agentStream.push({ frame: { $case: 'exit', value: h.agent.tasks.get(c.id)!.exit! } });
    agentStream.close();
    await new Promise((r) => setTimeout(r, 20));
    release();
    await starting;
    await relay;
    expect(frames).toEqual(['exit']);
    await eventually(() => h.engine.containers.get(NS, 'quick').phase === 'stopped', 'the exit recorded after the start');
    expect(h.engine.containers.get(NS, 'quick').exit?.exitCode).toBe(3);
  });

  it('records and publishes an exit once even when it is delivered twice', async () => {
    const c = await run('twice');
    h.agent.exit(c.id, 7);
    const status7 = h.agent.tasks.get(c.id)!.exit!;
    await eventually(() => h.engine.containers.get(NS, 'twice').phase === 'stopped', 'exit recorded');
    expect(h.engine.runtime.recordInitExit(c.id, status7)).toBe(false);
    expect(h.engine.runtime.recordInitExit(c.id, { ...status7 })).toBe(false);
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit')).toHaveLength(1);
    expect(h.engine.containers.get(NS, 'twice').exit?.exitCode).toBe(7);
  });

  it('keeps a tasks.exit the bus refused and publishes it later', async () => {
    const c = await run('later');
    h.events.failDurable = true;
    h.agent.exit(c.id, 1);
    await eventually(() => h.engine.containers.get(NS, 'later').phase === 'stopped', 'exit recorded');
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit')).toHaveLength(0);
    h.events.failDurable = false;
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit')).toHaveLength(1);
  });

  it('ignores an exit of an earlier run', async () => {
    const c = await run('old');
    h.agent.exit(c.id, 1);
    const first = h.agent.tasks.get(c.id)!.exit!;
    await eventually(() => !h.agent.tasks.has(c.id), 'teardown');
    await h.engine.tasks.startTask(NS, 'old', '');
    expect(h.engine.runtime.recordInitExit(c.id, { ...first, exitedAt: { seconds: first.exitedAt!.seconds - 100, nanos: 1 } })).toBe(false);
    // the first run's exit again (a redelivered report under another key): as old as the one recorded
    expect(h.engine.runtime.recordInitExit(c.id, { ...first, exitCode: 7 })).toBe(false);
    expect(h.engine.containers.get(NS, 'old').phase).toBe('running');
  });

  it('records the exit of a process that exits at once, stamped before its start was (exit files have coarse times)', async () => {
    const c = await run('quick');
    const startedAt = h.engine.runtime.store.get(c.id)!.startedAt!;
    // conmon's exit file: mtime from the kernel's coarse clock, a few ms behind the start stamp taken before StartTask
    const exitedAt = { seconds: Math.floor((startedAt - 3) / 1000), nanos: ((startedAt - 3) % 1000) * 1e6 };
    expect(h.engine.runtime.recordInitExit(c.id, { exitCode: 0, signal: 0, oomKilled: false, exitedAt })).toBe(true);
    expect(h.engine.containers.get(NS, 'quick').phase).toBe('stopped');
  });

  it('records an exit an earlier version set aside (its key kept, the container left running) when it is reported again', async () => {
    const c = await run('stuck');
    const exitedAt = { seconds: Math.floor(Date.now() / 1000), nanos: 5 };
    // what the startedAt comparison left: the exit's key, and the record still running
    h.engine.runtime.exits.record(c.id, '', exitKey({ exitCode: 0, signal: 0, oomKilled: false, exitedAt }, undefined), {
      exitCode: 0,
      signal: 0,
      oomKilled: false,
      exitedAt: Date.now(),
    });
    expect(h.engine.runtime.recordInitExit(c.id, { exitCode: 0, signal: 0, oomKilled: false, exitedAt })).toBe(true);
    expect(h.engine.containers.get(NS, 'stuck').phase).toBe('stopped');
    // and once recorded, the same report again changes nothing
    expect(h.engine.runtime.recordInitExit(c.id, { exitCode: 0, signal: 0, oomKilled: false, exitedAt })).toBe(false);
  });

  it('removes an auto-remove container after its exit', async () => {
    const c = await run('rm-me', { autoRemove: true });
    const waiting = h.engine.tasks.waitTask(NS, 'rm-me', '');
    h.agent.exit(c.id, 0);
    expect((await waiting).exitCode).toBe(0);
    await eventually(() => h.engine.runtime.store.get(c.id) === undefined, 'auto-remove');
    expect(h.snapshots.snapshots.has(c.id)).toBe(false);
    expect(h.events.ofType('containers.deleted')).toHaveLength(1);
  });
});

describe('restart policies', () => {
  it('on-failure:2 restarts twice, then leaves the container stopped', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'flaky', spec: spec({ restartPolicy: { name: R.ON_FAILURE, maxRetries: 2 } }) });
    h.agent.exitOnStart.set(c.id, 1);
    await h.engine.tasks.startTask(NS, 'flaky', '');
    await eventually(() => {
      const r = h.engine.runtime.store.get(c.id)!;
      return r.phase === 'stopped' && r.task === 'none' && r.restartCount === 2;
    }, 'two restarts then stop');
    expect(h.agent.script.calls.filter((x) => x.startsWith('startTask'))).toHaveLength(3);
  });

  it('on-failure does not restart after exit code 0', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'ok', spec: spec({ restartPolicy: { name: R.ON_FAILURE, maxRetries: 0 } }) });
    h.agent.exitOnStart.set(c.id, 0);
    await h.engine.tasks.startTask(NS, 'ok', '');
    await eventually(() => h.engine.runtime.store.get(c.id)!.phase === 'stopped', 'stopped');
    expect(h.engine.runtime.store.get(c.id)!.restartCount).toBe(0);
  });

  it('always restarts after an exit, with the backoff growing', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'loop', spec: spec({ restartPolicy: { name: R.ALWAYS, maxRetries: 0 } }) });
    h.agent.exitOnStart.set(c.id, 0);
    await h.engine.tasks.startTask(NS, 'loop', '');
    const rec = await eventually(() => {
      const r = h.engine.runtime.store.get(c.id)!;
      return r.restartCount >= 4 ? r : undefined;
    }, 'four restarts');
    expect(rec.restartDelayMs).toBeGreaterThan(5);
    h.agent.exitOnStart.delete(c.id);
    await eventually(() => h.engine.runtime.store.get(c.id)!.phase === 'running', 'running again');
  });

  it.each([R.ALWAYS, R.UNLESS_STOPPED])('a user stop disables restart for %s until the next start', async (policy) => {
    const c = await run('svc', { restartPolicy: { name: policy, maxRetries: 0 } });
    await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'svc' }));
    await eventually(() => !h.agent.tasks.has(c.id), 'teardown');
    await new Promise((r) => setTimeout(r, 50));
    expect(h.engine.containers.get(NS, 'svc').phase).toBe('stopped');
    await h.engine.tasks.startTask(NS, 'svc', '');
    h.agent.exit(c.id, 1);
    await eventually(() => h.engine.runtime.store.get(c.id)!.restartCount === 1, 'restarted after a crash');
  });

  it('a restart that cannot start is retried while a neighbour is down, and given up for a bad command', async () => {
    const c = await run('retry', { restartPolicy: { name: R.ALWAYS, maxRetries: 0 } });
    h.networking.script.failNext('prepareDns', grpcError(status.UNAVAILABLE, 'networking down'));
    h.agent.exit(c.id, 1);
    await eventually(() => h.engine.runtime.store.get(c.id)?.restartCount === 1 && h.engine.runtime.store.get(c.id)?.phase === 'running', 'running after a retried restart');
    h.agent.script.failNext('createTask', startFailure('exec: "sh": executable file not found in $PATH', 127));
    h.agent.exit(c.id, 1);
    const rec = await eventually(() => {
      const r = h.engine.runtime.store.get(c.id)!;
      return r.phase === 'stopped' ? r : undefined;
    }, 'stopped after a failed restart');
    expect(rec.exit?.exitCode).toBe(127);
    expect(rec.error).toContain('executable file not found');
    expect(rec.task).toBe('none');
  });

  it('a pending restart is called off when the policy is updated to "no", or by a stop', async () => {
    const slow = new Harness({ backoff: { initialMs: 60_000, maxMs: 60_000, resetAfterMs: 10_000 } });
    try {
      await slow.engine.start();
      for (const name of ['by-update', 'by-stop']) {
        const c = await slow.engine.containers.create(NS, { id: '', name, spec: spec({ restartPolicy: { name: R.ALWAYS, maxRetries: 0 } }) });
        await slow.engine.tasks.startTask(NS, name, '');
        slow.agent.exit(c.id, 1);
        await eventually(() => slow.engine.runtime.store.get(c.id)?.phase === 'restarting', 'restarting');
      }
      const updated = await slow.engine.containers.update(NS, tasks.UpdateContainerRequest.fromPartial({ id: 'by-update', restartPolicy: { name: R.NO, maxRetries: 0 }, updateMask: ['restart_policy'] }));
      expect(updated.phase).toBe('stopped');
      await slow.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: 'by-stop' }));
      const stopped = slow.engine.containers.get(NS, 'by-stop');
      expect(stopped.phase).toBe('stopped');
      expect(stopped.stoppedByUser).toBe(true);
      expect(slow.engine.containers.list(NS, ['status=restarting'])).toHaveLength(0);
    } finally {
      await slow.close();
    }
  });

  it('a kill with SIGKILL counts as a user stop; a kill with SIGHUP does not', async () => {
    const c = await run('kk', { restartPolicy: { name: R.ALWAYS, maxRetries: 0 } });
    await h.engine.tasks.killTask(NS, tasks.KillTaskRequest.fromPartial({ containerId: 'kk', signal: 'HUP' }));
    await eventually(() => h.engine.runtime.store.get(c.id)!.restartCount === 1 && h.engine.runtime.store.get(c.id)!.phase === 'running', 'restart after HUP');
    await h.engine.tasks.killTask(NS, tasks.KillTaskRequest.fromPartial({ containerId: 'kk', signal: 'KILL' }));
    await eventually(() => h.engine.runtime.store.get(c.id)!.phase === 'stopped', 'stopped for good');
  });
});

describe('exec, pause, processes', () => {
  it('refuses exec in a stopped or paused container with FAILED_PRECONDITION', async () => {
    await h.engine.containers.create(NS, { id: '', name: 'idle', spec: spec() });
    const req = tasks.ExecProcessRequest.fromPartial({ containerId: 'idle', process: { args: ['ls'] } });
    expect((await codeOf(h.engine.tasks.execProcess(NS, req))).code).toBe(status.FAILED_PRECONDITION);
    await h.engine.tasks.startTask(NS, 'idle', '');
    await h.engine.tasks.pauseTask(NS, 'idle');
    const paused = await codeOf(h.engine.tasks.execProcess(NS, req));
    expect(paused.code).toBe(status.FAILED_PRECONDITION);
    expect(paused.message).toContain('paused');
    await h.engine.tasks.resumeTask(NS, 'idle');
    expect(h.engine.containers.get(NS, 'idle').phase).toBe('running');
    expect(h.events.ofType('tasks.paused')).toHaveLength(1);
  });

  it('runs an exec as the user asked (resolved by the agent), waits for it and publishes its exit', async () => {
    const c = await run('box', { env: ['A=1'], user: 'app' });
    expect(h.agent.tasks.get(c.id)!.user).toBe('app');
    const execId = await h.engine.tasks.execProcess(
      NS,
      tasks.ExecProcessRequest.fromPartial({ containerId: 'box', process: { args: ['id'], user: 'nobody', env: ['B=2'] } }),
    );
    const exec = h.agent.tasks.get(c.id)!.execs.get(execId)!;
    expect(exec.user).toBe('nobody');
    expect(exec.privileged).toBe(false);
    expect(exec.process.env).toEqual(expect.arrayContaining(['A=1', 'B=2']));
    // Without -u, the exec runs as the container does.
    const asContainer = await h.engine.tasks.execProcess(NS, tasks.ExecProcessRequest.fromPartial({ containerId: 'box', process: { args: ['id'] } }));
    expect(h.agent.tasks.get(c.id)!.execs.get(asContainer)!.user).toBe('app');
    const badUser = await codeOf(
      h.engine.tasks.execProcess(NS, tasks.ExecProcessRequest.fromPartial({ containerId: 'box', process: { args: ['id'], user: ':x' } })),
    );
    expect(badUser.code).toBe(status.INVALID_ARGUMENT);
    expect(badUser.message).toContain('process.user: invalid user ":x"');
    await h.engine.tasks.startTask(NS, 'box', execId);
    const waiting = h.engine.tasks.waitTask(NS, 'box', execId);
    h.agent.exitExec(c.id, execId, 5);
    expect((await waiting).exitCode).toBe(5);
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit').some((e) => (e.payload as { execId: string }).execId === execId)).toBe(true);
    expect(h.engine.containers.get(NS, 'box').phase).toBe('running');
  });

  it('refuses an exec with no command', async () => {
    await run('box');
    const err = await codeOf(h.engine.tasks.execProcess(NS, tasks.ExecProcessRequest.fromPartial({ containerId: 'box', process: { args: [] } })));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });

  it('passes processes, stats, resizes and resource updates through to the agent', async () => {
    const c = await run('pp', { tty: true });
    expect((await h.engine.tasks.listProcesses(NS, 'pp'))[0]?.args).toEqual(['sh']);
    expect((await h.engine.tasks.stats(NS, []))[0]?.containerId).toBe(c.id);
    await h.engine.tasks.resizePty(NS, tasks.ResizePtyRequest.fromPartial({ containerId: 'pp', size: { width: 80, height: 24 } }));
    expect(h.agent.resizes).toHaveLength(1);
    const resources = { memoryBytes: 64 * 1024 * 1024, memorySwapBytes: 0, nanoCpus: 5e8, cpuShares: 0, cpusetCpus: '', pidsLimit: 100 };
    await h.engine.tasks.updateTask(NS, { containerId: 'pp', resources });
    expect(h.agent.tasks.get(c.id)!.resources[0]).toMatchObject({ memory: { limit: 64 * 1024 * 1024 }, cpu: { quota: 50000, period: 100000 }, pids: { limit: 100 } });
    expect(h.engine.containers.get(NS, 'pp').spec.resources?.pidsLimit).toBe(100);
    const absurd = await codeOf(h.engine.tasks.updateTask(NS, { containerId: 'pp', resources: { ...resources, memoryBytes: 5 } }));
    expect(absurd.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('remove', () => {
  it('after the exit, the snapshot goes while the task is torn down; a never-started task is deleted first', async () => {
    const c = await run('rm-fast', { autoRemove: true });
    const released = h.agent.script.pauseAfterNext('deleteTask');
    h.agent.exit(c.id, 0);
    // The agent has not answered its delete yet, and the snapshot is already gone.
    await eventually(() => !h.snapshots.snapshots.has(c.id), 'the snapshot removed during the teardown');
    expect(h.engine.runtime.store.get(c.id)?.phase).toBe('removing');
    released();
    await eventually(() => h.engine.runtime.store.get(c.id) === undefined, 'the removal to finish');
    expect(h.agent.tasks.has(c.id)).toBe(false);

    // Created, never started: its init process (runc's) still holds the rootfs, so the task goes first.
    const idle = await h.engine.containers.create(NS, { id: '', name: 'idle', spec: spec() });
    await h.engine.tasks.createTask(NS, 'idle');
    const releaseIdle = h.agent.script.pauseAfterNext('deleteTask');
    const removing = h.engine.containers.remove(NS, 'idle', { force: true, keepLogs: false });
    await eventually(() => h.agent.script.calls.includes(`deleteTask ${idle.id.slice(0, 12)}`), 'the task delete');
    await new Promise((r) => setTimeout(r, 50));
    expect(h.snapshots.snapshots.has(idle.id)).toBe(true);
    releaseIdle();
    await removing;
    expect(h.snapshots.snapshots.has(idle.id)).toBe(false);
  });

  it('a teardown that fails after the snapshot went leaves the container "removing"; removing it again finishes', async () => {
    const c = await run('half-gone');
    h.agent.exit(c.id, 137, 9);
    await eventually(() => h.engine.containers.get(NS, 'half-gone').phase === 'stopped', 'the exit');
    // (the exit's own teardown ran: give the record a task again, as a failed teardown would have left it)
    h.engine.runtime.store.patch(c.id, { task: 'present' });
    h.agent.script.failNext('deleteTask', grpcError(status.UNAVAILABLE, 'agent down'));
    const err = await codeOf(h.engine.containers.remove(NS, 'half-gone', { force: true, keepLogs: false }));
    expect(err.message).toMatch(/agent down/);
    expect(h.engine.containers.get(NS, 'half-gone').phase).toBe('removing');
    expect(h.snapshots.snapshots.has(c.id)).toBe(false);
    await h.engine.containers.remove(NS, 'half-gone', { force: true, keepLogs: false });
    expect(h.engine.runtime.store.get(c.id)).toBeUndefined();
    expect(h.events.ofType('containers.deleted')).toHaveLength(1);
  });

  it('refuses to remove a running container unless forced', async () => {
    await run('live');
    const err = await codeOf(h.engine.containers.remove(NS, 'live', { force: false, keepLogs: false }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(h.engine.containers.get(NS, 'live').phase).toBe('running');
  });

  it('force-removes everything the container owns: task, network, name files, netns, snapshot, logs', async () => {
    const c = await run('gone');
    const logPath = h.engine.containers.get(NS, 'gone').logPath;
    writeFileSync(logPath, 'x\n');
    await h.engine.containers.remove(NS, 'gone', { force: true, keepLogs: false });
    expect(h.agent.tasks.has(c.id)).toBe(false);
    expect(h.agent.netns.has(c.id)).toBe(false);
    expect(h.networking.attachments.has(c.id)).toBe(false);
    expect(h.networking.dns.has(c.id)).toBe(false);
    expect(h.snapshots.snapshots.has(c.id)).toBe(false);
    expect(existsSync(dirname(logPath))).toBe(false);
    expect((await codeOf(Promise.resolve().then(() => h.engine.containers.get(NS, 'gone')))).code).toBe(status.NOT_FOUND);
    expect(h.engine.runtime.store.tombstone(c.id)?.name).toBe('gone');
  });

  it('keeps the logs when asked', async () => {
    await h.engine.containers.create(NS, { id: '', name: 'keep', spec: spec() });
    const logPath = h.engine.containers.get(NS, 'keep').logPath;
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, 'x\n');
    await h.engine.containers.remove(NS, 'keep', { force: false, keepLogs: true });
    expect(existsSync(logPath)).toBe(true);
  });

  it('leaves the record in place when the snapshot cannot be removed, and a retry finishes', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'sticky', spec: spec() });
    h.snapshots.script.failNext('remove', grpcError(status.UNAVAILABLE, 'snapshots down'));
    const err = await codeOf(h.engine.containers.remove(NS, 'sticky', { force: false, keepLogs: false }));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(h.engine.runtime.store.get(c.id)?.phase).toBe('removing');
    await h.engine.containers.remove(NS, 'sticky', { force: false, keepLogs: false });
    expect(h.engine.runtime.store.get(c.id)).toBeUndefined();
  });
});

describe('update, rename, networks', () => {
  it('updates labels by mask and the restart policy', async () => {
    await h.engine.containers.create(NS, { id: '', name: 'uu', spec: spec({ labels: { a: '1', b: '2' } }) });
    const r = await h.engine.containers.update(NS, tasks.UpdateContainerRequest.fromPartial({ id: 'uu', labels: { c: '3' }, updateMask: ['labels.c', 'labels.a'] }));
    expect(r.spec.labels).toEqual({ b: '2', c: '3' });
    const p = await h.engine.containers.update(NS, tasks.UpdateContainerRequest.fromPartial({ id: 'uu', restartPolicy: { name: R.ALWAYS, maxRetries: 0 }, updateMask: ['restart_policy'] }));
    expect(p.spec.restartPolicy?.name).toBe(R.ALWAYS);
    const bad = await codeOf(h.engine.containers.update(NS, tasks.UpdateContainerRequest.fromPartial({ id: 'uu', updateMask: ['image'] })));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
  });

  it('renames, refusing a taken name', async () => {
    const a = await h.engine.containers.create(NS, { id: '', name: 'aa', spec: spec() });
    await h.engine.containers.create(NS, { id: '', name: 'bb', spec: spec() });
    const err = await codeOf(h.engine.containers.rename(NS, 'aa', 'bb'));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    await h.engine.containers.rename(NS, 'aa', 'cc');
    expect(h.engine.containers.get(NS, 'cc').id).toBe(a.id);
  });

  it('connects and disconnects a running container live', async () => {
    const c = await run('nn');
    await h.engine.containers.connect(NS, 'nn', { network: 'backend', aliases: ['db'], ipAddress: '' });
    expect(h.networking.attachments.get(c.id)?.map((a) => a.network)).toEqual(['bridge', 'backend']);
    const dup = await codeOf(h.engine.containers.connect(NS, 'nn', { network: 'backend', aliases: [], ipAddress: '' }));
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    const r = await h.engine.containers.disconnect(NS, 'nn', 'bridge', false);
    expect(r.spec.networks.map((n) => n.network)).toEqual(['backend']);
    expect(h.networking.attachments.get(c.id)?.map((a) => a.network)).toEqual(['backend']);
    const missing = await codeOf(h.engine.containers.disconnect(NS, 'nn', 'bridge', false));
    expect(missing.code).toBe(status.NOT_FOUND);
  });

  it('connects again after a disconnect, letting the networking service name the interface', async () => {
    const c = await run('gap');
    await h.engine.containers.connect(NS, 'gap', { network: 'front', aliases: [], ipAddress: '' });
    await h.engine.containers.connect(NS, 'gap', { network: 'back', aliases: [], ipAddress: '' });
    // Dropping eth1 leaves eth0 and eth2: a name derived from the count (eth2) would clash.
    await h.engine.containers.disconnect(NS, 'gap', 'front', false);
    const r = await h.engine.containers.connect(NS, 'gap', { network: 'extra', aliases: [], ipAddress: '' });
    expect(h.networking.attachReqs.filter((q) => q.containerId === c.id).map((q) => q.interfaceName)).toEqual(['', '', '', '']);
    expect(r.networks.map((n) => [n.network, n.interfaceName])).toEqual([
      ['bridge', 'eth0'],
      ['back', 'eth2'],
      ['extra', 'eth1'],
    ]);
    expect(h.engine.containers.get(NS, 'gap').networks.map((n) => n.interfaceName)).toEqual(['eth0', 'eth2', 'eth1']);
  });

  it('lists with filters and refuses unknown filter keys', async () => {
    await run('r1', { labels: { tier: 'web' } });
    await h.engine.containers.create(NS, { id: '', name: 'c1', spec: spec() });
    expect(h.engine.containers.list(NS, ['status=running']).map((c) => c.name)).toEqual(['r1']);
    expect(h.engine.containers.list(NS, ['label=tier=web']).map((c) => c.name)).toEqual(['r1']);
    expect(h.engine.containers.list(NS, ['status=created', 'status=running'])).toHaveLength(2);
    expect(h.engine.containers.list(NS, ['ancestor=busybox'])).toHaveLength(2);
    expect(h.engine.containers.list(NS, [])[0]?.name).toBe('c1');
    expect((await codeOf(Promise.resolve().then(() => h.engine.containers.list(NS, ['color=red'])))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('shows UNKNOWN for a live container whose node stopped heartbeating', async () => {
    const c = await run('far');
    h.unavailableNodes.add(c.nodeId);
    expect(h.engine.containers.stateOf(h.engine.containers.get(NS, 'far'))).toBe(tasks.ContainerState.UNKNOWN);
    expect(h.engine.containers.list(NS, ['status=unknown'])).toHaveLength(1);
  });
});

describe('init', () => {
  it('refuses --init when no init binary is configured', async () => {
    const err = await codeOf(h.engine.containers.create(NS, { id: '', name: 'ii', spec: spec({ init: true }) }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toContain('init');
  });

  it('bind-mounts the configured init binary and runs the command under it', async () => {
    const other = new Harness({ initBinary: join('/usr/bin/tini') });
    try {
      await other.engine.start();
      const c = await other.engine.containers.create(NS, { id: '', name: 'ii', spec: spec({ init: true }) });
      expect(c.runtimeSpec.process.args).toEqual(['/sbin/docker-init', '--', 'sh']);
      expect(c.runtimeSpec.mounts).toContainEqual(expect.objectContaining({ destination: '/sbin/docker-init', source: '/usr/bin/tini' }));
    } finally {
      await other.close();
    }
  });
});

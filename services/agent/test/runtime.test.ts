// ContainerRuntime against real runc and conmon, with busybox containers on
// overlay root file systems.
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContainerRuntime } from '../src/runtime/container-runtime.js';
import { ContainerError } from '../src/errors.js';
import { Runc } from '../src/runtime/runc.js';
import { readRuncStateFile } from '../src/runtime/runc-state-file.js';
import { deleteStoppedContainer } from '../src/runtime/runc-stopped-delete.js';
import { spawn } from 'node:child_process';
import { readLogs } from '../src/logs/read.js';
import { mountsUnder } from '@berth/mount';
import { createSuite, destroySuite, eventually, isAlive, runcState, type Suite } from './helpers/suite.js';

let suite: Suite;
let rt: ContainerRuntime;

beforeAll(() => {
  suite = createSuite('rt');
  rt = new ContainerRuntime({ root: suite.stateRoot, pollMs: 200 });
});

afterAll(async () => {
  await destroySuite(suite);
});

/** Creates a container over an overlay of the busybox template. */
async function create(
  name: string,
  args: string[],
  extra: Parameters<Suite['spec']>[1] = {},
  opts: { tty?: boolean; stdin?: boolean; stdinOnce?: boolean; logMaxSize?: number; logMaxFiles?: number; user?: string; privileged?: boolean } = {},
) {
  const id = suite.id(name);
  const spec = suite.spec(id, { cmd: args, tty: opts.tty, ...extra });
  const state = await rt.create(id, { spec, rootfsMounts: suite.overlayFor(id), ...opts });
  return { id, state };
}

async function expectContainerError(p: Promise<unknown>, code: string): Promise<ContainerError> {
  const err = await p.then(
    () => {
      throw new Error(`expected ${code}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ContainerError);
  expect((err as ContainerError).code).toBe(code);
  return err as ContainerError;
}

function collect(stream: Readable): { text: () => string } {
  let text = '';
  stream.on('data', (b: Buffer) => {
    text += b.toString('utf8');
  });
  return { text: () => text };
}

describe('lifecycle', () => {
  test('echo hello: created, started, stopped with code 0, output in the k8s-file log', async () => {
    const { id, state } = await create('hello', ['echo', 'hello']);
    expect(state.status).toBe('created');
    expect(state.pid).toBeGreaterThan(0);
    expect(runcState(suite, id)).toBe('created');
    await rt.start(id);
    const exit = await rt.wait(id);
    expect(exit.exitCode).toBe(0);
    expect(exit.oomKilled).toBe(false);
    const raw = readFileSync(state.logPath, 'utf8');
    expect(raw).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}(Z|[+-]\d{2}:\d{2}) stdout F hello\n$/);
    const lines = await readLogs(state.logPath);
    expect(lines.map((l) => [l.stream, l.text])).toEqual([['stdout', 'hello']]);
    expect((await rt.state(id)).status).toBe('stopped');
    expect(await rt.delete(id)).toMatchObject({ exitCode: 0 });
  });

  test("sh -c 'exit 3' exits 3; stderr is tagged", async () => {
    const { id } = await create('exit3', ['sh', '-c', 'echo oops >&2; exit 3']);
    await rt.start(id);
    expect((await rt.wait(id)).exitCode).toBe(3);
    const state = await rt.state(id);
    expect(state).toMatchObject({ status: 'stopped', exit: { exitCode: 3 } });
    expect(await readLogs(state.logPath)).toMatchObject([{ stream: 'stderr', text: 'oops' }]);
    await rt.delete(id);
  });

  test('SIGKILL gives 137 (128+9) and names the signal', async () => {
    const { id } = await create('killed', ['sleep', '1000']);
    await rt.start(id);
    expect((await rt.state(id)).status).toBe('running');
    await rt.kill(id, 'SIGKILL');
    const exit = await rt.wait(id);
    expect(exit).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    await expectContainerError(rt.kill(id, 'KILL'), 'NOT_RUNNING');
    await rt.delete(id);
  });

  test('delete removes runc state, the monitor, mounts and directories, and returns the exit', async () => {
    const { id, state } = await create('cleanup', ['sleep', '1000']);
    await rt.start(id);
    const running = await rt.state(id);
    const monitorPid = running.monitorPid as number;
    expect(isAlive(monitorPid)).toBe(true);
    await expectContainerError(rt.delete(id), 'IS_RUNNING');
    const exit = await rt.delete(id, { force: true });
    expect(exit).toMatchObject({ exitCode: 137 });
    expect(runcState(suite, id)).toBeUndefined();
    expect(isAlive(monitorPid)).toBe(false);
    expect(isAlive(running.pid as number)).toBe(false);
    expect(existsSync(join(suite.stateRoot, 'containers', id))).toBe(false);
    expect(existsSync(join(suite.stateRoot, 'exits', id))).toBe(false);
    expect(existsSync(join(suite.stateRoot, 'attach', id))).toBe(false);
    expect(existsSync(state.bundle)).toBe(false);
    expect(existsSync(join('/sys/fs/cgroup/memory', suite.cgroupParent, id))).toBe(false);
    await expectContainerError(rt.state(id), 'NOT_FOUND');
    // Its state dir went aside at once and is deleted in the background.
    await rt.removalsSettled();
    expect(readdirSync(join(suite.stateRoot, 'removed'))).toEqual([]);
  });

  test('wait asked while the create runs reports what it became: 127 for a command not found', async () => {
    const id = suite.id('waitcreate');
    const spec = suite.spec(id, { cmd: ['/no/such/command'] });
    const creating = rt.create(id, { spec, rootfsMounts: suite.overlayFor(id) });
    const waiting = rt.wait(id); // the same tick: the create has only begun
    await expectContainerError(creating, 'COMMAND_NOT_FOUND');
    expect((await waiting).exitCode).toBe(127);
    await rt.delete(id);
  });

  test('createSettled: waits for a create begun later, returns at once for a created one, gives up on timeout or abort', async () => {
    const id = suite.id('settled');
    const events: string[] = [];
    const waiting = rt.createSettled(id, { timeoutMs: 30_000 }).then(() => events.push('settled'));
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([]);
    const created = create('settled', ['true']).then(() => events.push('created'));
    await Promise.all([waiting, created]);
    // The wait ends with the create, not before it.
    expect(events).toEqual(['created', 'settled']);
    const t0 = Date.now();
    await rt.createSettled(id, { timeoutMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await rt.delete(id);

    const never = suite.id('never-created');
    const t1 = Date.now();
    await rt.createSettled(never, { timeoutMs: 150 });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(140);
    const controller = new AbortController();
    const aborted = rt.createSettled(never, { timeoutMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const t2 = Date.now();
    await aborted;
    expect(Date.now() - t2).toBeLessThan(5_000);
    await expectContainerError(rt.state(never), 'NOT_FOUND');
  });

  test('a created container that is never started can be deleted without force', async () => {
    const { id } = await create('never', ['true']);
    expect(await rt.delete(id)).toBeDefined();
    expect(runcState(suite, id)).toBeUndefined();
  });

  test('list shows every container with its status', async () => {
    const a = await create('list-a', ['sleep', '1000']);
    const b = await create('list-b', ['true']);
    await rt.start(a.id);
    await rt.start(b.id);
    await rt.wait(b.id);
    const list = await rt.list();
    expect(list.find((c) => c.id === a.id)?.status).toBe('running');
    expect(list.find((c) => c.id === b.id)).toMatchObject({ status: 'stopped', exit: { exitCode: 0 } });
    await rt.delete(a.id, { force: true });
    await rt.delete(b.id);
  });

  test('watchExits reports exits as conmon records them', async () => {
    const seen: Array<[string, number]> = [];
    const stop = rt.watchExits((id, exit) => seen.push([id, exit.exitCode]));
    try {
      const { id } = await create('watched', ['sh', '-c', 'exit 9']);
      await rt.start(id);
      await eventually(() => seen.find(([i]) => i === id), 'the exit event');
      expect(seen.filter(([i]) => i === id)).toEqual([[id, 9]]);
      await rt.delete(id);
    } finally {
      stop();
    }
  });
});

describe('bad input and wrong states', () => {
  test('command not found: exit 127 like Docker, kept as a stopped container', async () => {
    const id = suite.id('nf');
    const err = await expectContainerError(
      rt.create(id, { spec: suite.spec(id, { cmd: ['no-such-command'] }), rootfsMounts: suite.overlayFor(id) }),
      'COMMAND_NOT_FOUND',
    );
    expect(err.exitCode).toBe(127);
    expect(err.message).toContain('no-such-command');
    expect(await rt.state(id)).toMatchObject({ status: 'stopped', exit: { exitCode: 127 } });
    expect((await rt.wait(id)).exitCode).toBe(127);
    expect((await rt.delete(id))?.exitCode).toBe(127);
    expect(existsSync(join(suite.stateRoot, 'containers', id))).toBe(false);
  });

  test('not executable: exit 126', async () => {
    const id = suite.id('nx');
    const err = await expectContainerError(
      rt.create(id, { spec: suite.spec(id, { cmd: ['/not-executable'] }), rootfsMounts: suite.overlayFor(id) }),
      'COMMAND_NOT_EXECUTABLE',
    );
    expect(err.exitCode).toBe(126);
    expect((await rt.delete(id))?.exitCode).toBe(126);
  });

  test('duplicate id, unknown id, bad id, bad signal, bad bundle, missing bind source', async () => {
    const { id } = await create('dup', ['sleep', '1000']);
    await expectContainerError(rt.create(id, { spec: suite.spec(id, { cmd: ['true'] }) }), 'ALREADY_EXISTS');
    await expectContainerError(rt.start(suite.id('nobody')), 'NOT_FOUND');
    await expectContainerError(rt.wait(suite.id('nobody')), 'NOT_FOUND');
    await expectContainerError(rt.state('../etc'), 'INVALID_ARGUMENT');
    await expectContainerError(rt.kill(id, 'SIGNOPE'), 'INVALID_ARGUMENT');
    await expectContainerError(rt.kill(id, 99), 'INVALID_ARGUMENT');
    const other = suite.id('badbundle');
    await expectContainerError(rt.create(other, { spec: suite.spec(other, { cmd: ['true'] }), bundle: '/nonexistent/bundle' }), 'INVALID_ARGUMENT');
    expect(existsSync(join(suite.stateRoot, 'containers', other))).toBe(false);
    const bind = suite.id('badbind');
    const spec = suite.spec(bind, { cmd: ['true'], mounts: [{ type: 'bind', source: '/nonexistent/source', target: '/data' }] });
    const err = await expectContainerError(rt.create(bind, { spec, rootfsMounts: suite.overlayFor(bind) }), 'INVALID_ARGUMENT');
    expect(err.message).toContain('/nonexistent/source');
    expect(existsSync(join(suite.stateRoot, 'containers', bind))).toBe(false);
    // the rootfs overlay of the refused create was taken down again
    expect(readdirSync(join(suite.root, 'layers', bind, 'upper'))).toEqual([]);
    await rt.delete(id, { force: true });
  });

  test('start twice and exec in a stopped container are refused', async () => {
    const { id } = await create('twice', ['true']);
    await rt.start(id);
    await rt.wait(id);
    await expectContainerError(rt.start(id), 'INVALID_STATE');
    await expectContainerError(rt.exec(id, { args: ['echo'] }), 'NOT_RUNNING');
    await expectContainerError(rt.pause(id), 'NOT_RUNNING');
    await expectContainerError(rt.stats(id), 'NOT_RUNNING');
    await rt.delete(id);
  });
});

describe('running containers', () => {
  let id: string;

  beforeAll(async () => {
    ({ id } = await create('busy', ['sh', '-c', 'while true; do sleep 1; done']));
    await rt.start(id);
  });

  afterAll(async () => {
    await rt.delete(id, { force: true }).catch(() => undefined);
  });

  test('exec echo returns its output and exit code', async () => {
    const r = await rt.exec(id, { args: ['sh', '-c', 'echo out; echo err >&2; exit 4'] });
    expect(r).toEqual({ exitCode: 4, stdout: 'out\n', stderr: 'err\n' });
    expect(readdirSync(join(suite.stateRoot, 'containers', id, 'execs'))).toEqual([]);
  });

  test('exec with env, cwd and a user resolved from the image', async () => {
    const r = await rt.exec(id, { args: ['sh', '-c', 'echo $GREETING; pwd; id -u; id -G'], env: ['GREETING=hi'], cwd: '/tmp', user: 'alice' });
    expect(r.stdout).toBe('hi\n/tmp\n1000\n1000 50\n');
    await expectContainerError(rt.exec(id, { args: ['true'], user: 'mallory' }), 'INVALID_ARGUMENT');
  });

  test('exec of a missing command: 127; of a non-executable file: 126', async () => {
    const nf = await expectContainerError(rt.exec(id, { args: ['no-such-command'] }), 'COMMAND_NOT_FOUND');
    expect(nf.exitCode).toBe(127);
    const nx = await expectContainerError(rt.exec(id, { args: ['/not-executable'] }), 'COMMAND_NOT_EXECUTABLE');
    expect(nx.exitCode).toBe(126);
  });

  test('pause and resume', async () => {
    await rt.pause(id);
    expect((await rt.state(id)).status).toBe('paused');
    expect(runcState(suite, id)).toBe('paused');
    await expectContainerError(rt.pause(id), 'INVALID_STATE');
    await rt.resume(id);
    expect((await rt.state(id)).status).toBe('running');
    expect((await rt.exec(id, { args: ['echo', 'awake'] })).stdout).toBe('awake\n');
  });

  test('pids lists the processes', async () => {
    const state = await rt.state(id);
    const pids = await rt.pids(id);
    expect(pids).toContain(state.pid);
  });

  test('stats: memory, cpu and pids from the cgroup', async () => {
    const s = await rt.stats(id);
    expect(s.memory.usageBytes).toBeGreaterThan(0);
    expect(s.cpu.usageNs).toBeGreaterThan(0);
    expect(s.pids.current).toBeGreaterThanOrEqual(1);
    expect(s.memory.limitBytes).toBeNull();
  });
});

describe('limits', () => {
  test('memory and pids limits show in stats', async () => {
    const { id } = await create('limited', ['sleep', '1000'], { resources: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 50 } });
    await rt.start(id);
    const s = await rt.stats(id);
    expect(s.memory.limitBytes).toBe(64 * 1024 * 1024);
    expect(s.pids.limit).toBe(50);
    await rt.delete(id, { force: true });
  });

  test('an OOM kill is reported', async () => {
    const { id } = await create('oom', ['sh', '-c', 'x=aaaaaaaa; while true; do x=$x$x; done'], { resources: { memoryBytes: 16 * 1024 * 1024 } });
    await rt.start(id);
    const exit = await rt.wait(id);
    expect(exit).toMatchObject({ exitCode: 137, oomKilled: true });
    await rt.delete(id);
  });
});

describe('terminals and stdin', () => {
  test('a tty container: output through the pty, terminal resize', async () => {
    const { id, state } = await create('tty', ['sh'], {}, { tty: true, stdin: true });
    expect(state.tty).toBe(true);
    const session = await rt.attach(id, { stdin: true });
    const out = collect(session.stdout);
    await rt.start(id);
    await rt.resize(id, { height: 40, width: 100 });
    session.stdin?.write('tty; stty size; echo done-$((6*7))\n');
    await eventually(() => out.text().includes('done-42'), 'the shell to answer');
    expect(out.text()).toMatch(/\/dev\/pts\/\d+/);
    expect(out.text()).toContain('40 100');
    session.stdin?.write('exit 5\n');
    expect((await rt.wait(id)).exitCode).toBe(5);
    await session.closed;
    const logged = (await readLogs(state.logPath)).map((l) => l.text).join('\n');
    expect(logged).toContain('done-42');
    await expectContainerError(rt.resize(id, { height: 0, width: 10 }), 'INVALID_ARGUMENT');
    await rt.delete(id);
  });

  test('stdin without a tty: attach, write, close stdin, the process sees EOF', async () => {
    const { id, state } = await create('cat', ['cat'], {}, { stdin: true });
    const session = await rt.attach(id, { stdin: true });
    const out = collect(session.stdout);
    await rt.start(id);
    session.stdin?.write('line one\n');
    session.stdin?.end('line two\n');
    expect((await rt.wait(id)).exitCode).toBe(0);
    await session.closed;
    expect(out.text()).toBe('line one\nline two\n');
    expect((await readLogs(state.logPath)).map((l) => l.text)).toEqual(['line one', 'line two']);
    await expectContainerError(rt.resize(id, { height: 10, width: 10 }), 'INVALID_ARGUMENT');
    await rt.delete(id);
  });

  test('an interactive exec with a tty', async () => {
    const { id } = await create('exec-it', ['sleep', '1000']);
    await rt.start(id);
    const session = await rt.execStart(id, { args: ['sh'], tty: true, stdin: true, attach: true });
    expect(session.pid).toBeGreaterThan(0);
    const out = collect(session.attach!.stdout);
    await rt.resizeExec(id, session.execId, { height: 30, width: 90 });
    session.attach!.stdin!.write('stty size; echo exec-$((2+3))\n');
    await eventually(() => out.text().includes('exec-5'), 'the exec shell to answer');
    expect(out.text()).toContain('30 90');
    session.attach!.stdin!.write('exit 6\n');
    expect((await session.wait()).exitCode).toBe(6);
    await rt.removeExec(id, session.execId);
    await rt.delete(id, { force: true });
  });
});

describe('logs', () => {
  test('rotation keeps every line across files; nothing is truncated', async () => {
    const trigger = '/tmp/go';
    const script = `i=0; while [ $i -lt 50 ]; do echo line-$i; i=$((i+1)); done; while [ ! -e ${trigger} ]; do sleep 0.1; done; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done`;
    const { id, state } = await create('rotate', ['sh', '-c', script], {}, { logMaxSize: 1000, logMaxFiles: 5 });
    await rt.start(id);
    await eventually(async () => (await readLogs(state.logPath)).length === 50, 'the first 50 lines');
    expect(await rt.rotateLogs(id)).toEqual([id]);
    expect(existsSync(`${state.logPath}.1`)).toBe(true);
    writeFileSync(join(state.rootfs, trigger), '');
    expect((await rt.wait(id)).exitCode).toBe(0);
    const lines = (await readLogs(state.logPath)).map((l) => l.text);
    expect(lines).toEqual(Array.from({ length: 100 }, (_, i) => `line-${i}`));
    expect(readFileSync(`${state.logPath}.1`, 'utf8')).toContain('line-49');
    expect(readFileSync(state.logPath, 'utf8')).toContain('line-50');
    expect(readFileSync(state.logPath, 'utf8')).not.toContain('line-49\n');
    await rt.delete(id);
  });
});

describe('users', () => {
  /** Runs `id -u; id -g; id -G; echo $HOME` as `user` (resolved by the runtime in the mounted rootfs). */
  async function runAs(name: string, user: string, extra: Parameters<Suite['spec']>[1] = {}): Promise<string[]> {
    const { id, state } = await create(name, ['sh', '-c', 'id -u; id -g; id -G; echo $HOME'], extra, { user });
    await rt.start(id);
    expect((await rt.wait(id)).exitCode).toBe(0);
    const lines = (await readLogs(state.logPath)).map((l) => l.text);
    await rt.delete(id);
    return lines;
  }

  test('a user given by name runs with the ids, groups and home from the image', async () => {
    expect(await runAs('alice', 'alice')).toEqual(['1000', '1000', '1000 50', '/home/alice']);
  });

  test('name:group and uid:gid; the default user is root with its home', async () => {
    expect(await runAs('alice-staff', 'alice:staff')).toEqual(['1000', '50', '50', '/home/alice']);
    expect(await runAs('numeric', '4242:4343')).toEqual(['4242', '4343', '4343', '/']);
    expect(await runAs('default', '')).toEqual(['0', '0', '0', '/root']);
    // HOME from the spec's env wins over the user's home.
    expect(await runAs('home', 'alice', { env: ['HOME=/data'] })).toEqual(['1000', '1000', '1000 50', '/data']);
  });

  test('an unknown user or group is INVALID_ARGUMENT naming it, and nothing is left behind', async () => {
    for (const [name, user, reason] of [
      ['mallory', 'mallory', 'unable to find user mallory: no matching entries in passwd file'],
      ['nogroup', 'alice:wheel', 'unable to find group wheel: no matching entries in group file'],
      ['badspec', 'a:b:c', 'invalid user "a:b:c"'],
    ]) {
      const id = suite.id(name!);
      const spec = suite.spec(id, { cmd: ['true'] });
      const err = await expectContainerError(rt.create(id, { spec, rootfsMounts: suite.overlayFor(id), user: user! }), 'INVALID_ARGUMENT');
      expect(err.message).toContain(`container ${id}: cannot run as user ${JSON.stringify(user)}: ${reason}`);
      expect(existsSync(join(suite.stateRoot, 'containers', id))).toBe(false);
      expect(await mountsUnder(join(suite.stateRoot, 'containers', id))).toEqual([]);
      expect(runcState(suite, id)).toBeUndefined();
      await expectContainerError(rt.state(id), 'NOT_FOUND');
    }
  });

  test('the passwd file is read inside the rootfs: a link out of it does not reach the host', async () => {
    const id = suite.id('escape');
    const mounts = suite.overlayFor(id);
    // A host file that knows eve, and an image whose /etc/passwd links to it by climbing out of the rootfs.
    const hostFile = join(suite.root, 'host-passwd');
    writeFileSync(hostFile, 'root:x:0:0::/root:/bin/sh\neve:x:666:666::/:/bin/sh\n');
    const upper = mounts[0]!.options.find((o) => o.startsWith('upperdir='))!.slice('upperdir='.length);
    mkdirSync(join(upper, 'etc'), { recursive: true });
    symlinkSync(`${'../'.repeat(40)}${hostFile.slice(1)}`, join(upper, 'etc/passwd'));
    const err = await expectContainerError(
      rt.create(id, { spec: suite.spec(id, { cmd: ['true'] }), rootfsMounts: mounts, user: 'eve' }),
      'INVALID_ARGUMENT',
    );
    expect(err.message).toContain('unable to find user eve: there is no passwd file');
    expect(existsSync(join(suite.stateRoot, 'containers', id))).toBe(false);
  });

  test('exec: a user by name, and an unknown one refused', async () => {
    const { id } = await create('exec-users', ['sleep', '1000'], {}, { user: 'alice' });
    await rt.start(id);
    expect((await rt.exec(id, { args: ['sh', '-c', 'id -u; id -G; echo $HOME'] })).stdout).toBe('1000\n1000 50\n/home/alice\n');
    expect((await rt.exec(id, { args: ['sh', '-c', 'id -u; id -g'], user: 'nobody:staff' })).stdout).toBe('65534\n50\n');
    const err = await expectContainerError(rt.exec(id, { args: ['true'], user: 'mallory' }), 'INVALID_ARGUMENT');
    expect(err.message).toContain('cannot run as user "mallory": unable to find user mallory');
    await expectContainerError(rt.createExec(id, 'bad-user', { args: ['true'], user: 'alice:nope' }), 'INVALID_ARGUMENT');
    expect(await rt.listExecs(id)).toEqual([]);
    await rt.delete(id, { force: true });
  });
});

describe('privileged', () => {
  test('a privileged container gets the node\'s device nodes and every capability the agent holds', async () => {
    const script = 'test -c /dev/kmsg && echo kmsg; test -c /dev/fuse && echo fuse; grep CapEff /proc/self/status';
    const own = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*(\S+)$/m)![1];
    const { id, state } = await create('privileged', ['sh', '-c', script], { privileged: true }, { privileged: true });
    await rt.start(id);
    expect((await rt.wait(id)).exitCode).toBe(0);
    expect((await readLogs(state.logPath)).map((l) => l.text.replace(/\s+/g, ' '))).toEqual(['kmsg', 'fuse', `CapEff: ${own}`]);
    await rt.delete(id);
    // An exec asking for privileges gets the same capabilities.
    const { id: plain } = await create('unprivileged', ['sleep', '1000']);
    await rt.start(plain);
    expect((await rt.exec(plain, { args: ['sh', '-c', 'test -c /dev/kmsg || echo no-kmsg'] })).stdout).toBe('no-kmsg\n');
    expect((await rt.exec(plain, { args: ['grep', 'CapEff', '/proc/self/status'], privileged: true })).stdout.replace(/\s+/g, ' ').trim()).toBe(`CapEff: ${own}`);
    await rt.delete(plain, { force: true });
  });
});

describe("runc's state read from its files", () => {
  test('agrees with `runc state` when created, running, paused and stopped, and knows no unknown id', async () => {
    const runc = new Runc({ path: '/usr/sbin/runc', root: suite.runcRoot });
    const both = async (id: string) => {
      const file = await readRuncStateFile(suite.runcRoot, id);
      const cli = await runc.stateFromRunc(id);
      expect(file.kind).toBe('state');
      if (file.kind !== 'state' || !cli) throw new Error(`no state for ${id}`);
      expect(file.state).toEqual(cli);
      return file.state;
    };
    const { id } = await create('filestate', ['sleep', '60']);
    expect((await both(id)).status).toBe('created');
    await rt.start(id);
    const running = await both(id);
    expect(running.status).toBe('running');
    expect(running.pid).toBeGreaterThan(0);
    await rt.pause(id);
    expect((await both(id)).status).toBe('paused');
    await rt.resume(id);
    expect((await both(id)).status).toBe('running');
    await rt.kill(id, 9);
    await rt.wait(id);
    expect(await both(id)).toMatchObject({ status: 'stopped', pid: 0 });
    expect(await runc.list()).toEqual(await runc.listFromRunc());
    await rt.delete(id);
    expect(await readRuncStateFile(suite.runcRoot, id)).toEqual({ kind: 'absent' });
    expect(await runc.state(id)).toBeUndefined();
  });
});

describe('deleting a stopped container without runc', () => {
  const cgroupPathsOf = (id: string) =>
    Object.values((JSON.parse(readFileSync(join(suite.runcRoot, id, 'state.json'), 'utf8')) as { cgroup_paths: Record<string, string> }).cgroup_paths);

  test("removes its cgroups and runc's state as `runc delete` does; the agent's delete then reports its exit", async () => {
    const { id } = await create('nativedel', ['sh', '-c', 'exit 4']);
    await rt.start(id);
    await rt.wait(id);
    const cgroups = cgroupPathsOf(id);
    expect(cgroups.length).toBeGreaterThan(0);
    for (const p of cgroups) expect(existsSync(p)).toBe(true);
    expect(await deleteStoppedContainer(suite.runcRoot, id)).toEqual({ kind: 'deleted' });
    for (const p of cgroups) expect(existsSync(p)).toBe(false);
    expect(existsSync(join(suite.runcRoot, id))).toBe(false);
    expect(runcState(suite, id)).toBeUndefined();
    expect(await deleteStoppedContainer(suite.runcRoot, id)).toEqual({ kind: 'absent' });
    expect(await rt.delete(id)).toMatchObject({ exitCode: 4 });
  });

  test('leaves a running or created container to runc, changing nothing', async () => {
    const { id } = await create('nativedel-live', ['sleep', '60']);
    expect(await deleteStoppedContainer(suite.runcRoot, id)).toEqual({ kind: 'runc', why: 'the container is created' });
    await rt.start(id);
    expect(await deleteStoppedContainer(suite.runcRoot, id)).toEqual({ kind: 'runc', why: 'the container is running' });
    for (const p of cgroupPathsOf(id)) expect(existsSync(p)).toBe(true);
    expect(runcState(suite, id)).toBe('running');
    await rt.delete(id, { force: true });
    expect(runcState(suite, id)).toBeUndefined();
  });

  test('gives up to runc, keeping the state, when a cgroup cannot be removed', async () => {
    const { id } = await create('nativedel-busy', ['true']);
    await rt.start(id);
    await rt.wait(id);
    // A child cgroup with a live process in it: rmdir answers EBUSY until it is gone.
    const memory = cgroupPathsOf(id).find((p) => p.includes('/memory/') || p.includes('/unified/'));
    if (!memory) throw new Error('no memory or unified cgroup path in state.json');
    const child = join(memory, 'held');
    mkdirSync(child);
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(join(child, 'cgroup.procs'), String(sleeper.pid));
      const result = await deleteStoppedContainer(suite.runcRoot, id, { attempts: 2, delayMs: 5 });
      expect(result).toMatchObject({ kind: 'runc', why: expect.stringContaining('EBUSY') });
      expect(existsSync(join(suite.runcRoot, id, 'state.json'))).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    await eventually(async () => (await deleteStoppedContainer(suite.runcRoot, id)).kind === 'deleted', 'the cgroup emptied');
    expect(existsSync(child)).toBe(false);
    expect(await rt.delete(id)).toMatchObject({ exitCode: 0 });
  });
});

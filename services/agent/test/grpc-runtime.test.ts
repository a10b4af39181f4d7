// The agent's Runtime, Agent and Mounts gRPC APIs, served in-process by the
// agent service (startService) on real runc and conmon with busybox
// containers, driven only through the generated clients.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agent, types } from '@berth/api';
import { startNats, type TestNats } from '@berth/testkit';
import type { RunningService } from '@berth/service-kit';
import type { AgentConfig } from '../src/config.js';
import { readLogs } from '../src/logs/read.js';
import { isMountPoint } from '@berth/mount';
import { call, callError, clientsFor, json, overlayMounts, startAgentInProcess, type Clients } from './helpers/agent.js';
import { createSuite, destroySuite, eventually, type Suite } from './helpers/suite.js';

let suite: Suite;
let nats: TestNats;
let service: RunningService<AgentConfig> | undefined;
let c: Clients;

beforeAll(async () => {
  suite = createSuite('grt', { stateDir: 'agent' });
  nats = await startNats();
  ({ service } = await startAgentInProcess({ suite, natsUrl: nats.url, node: 'grt-node' }));
  c = clientsFor(suite);
});

afterAll(async () => {
  c?.close();
  await service?.stop().catch(() => undefined);
  await destroySuite(suite);
  await nats?.stop();
});

interface CreateOpts {
  tty?: boolean;
  stdin?: boolean;
  /** CreateTaskRequest.user: resolved by the agent in the mounted rootfs. */
  user?: string;
  extra?: Parameters<Suite['spec']>[1];
  rootfs?: types.Mount[];
}

async function create(name: string, args: string[], o: CreateOpts = {}): Promise<{ id: string; res: agent.CreateTaskResponse }> {
  const id = suite.id(name);
  const spec = suite.spec(id, { cmd: args, tty: o.tty, ...o.extra });
  const res = await call<agent.CreateTaskResponse>((cb) =>
    c.runtime.createTask(
      {
        containerId: id,
        specJson: json(spec),
        copyUps: [], rootfsMounts: o.rootfs ?? overlayMounts(suite, id),
        stdio: { terminal: o.tty === true, stdin: o.stdin === true, logPath: '', logMaxBytes: 0, logMaxFiles: 0 },
        ...(o.user !== undefined ? { user: o.user } : {}),
        privileged: false,
      },
      cb,
    ),
  );
  return { id, res };
}

const start = (id: string, execId = '') => call<agent.StartTaskResponse>((cb) => c.runtime.startTask({ containerId: id, execId }, cb));
const wait = (id: string, execId = '') => call<agent.WaitTaskResponse>((cb) => c.runtime.waitTask({ containerId: id, execId }, cb));
const state = async (id: string) => (await call<agent.GetTaskStateResponse>((cb) => c.runtime.getTaskState({ containerId: id }, cb))).state!;
const del = (id: string, force = false, execId = '') =>
  call<agent.DeleteTaskResponse>((cb) => c.runtime.deleteTask({ containerId: id, execId, force }, cb));
const kill = (id: string, signal: number, execId = '') =>
  call<agent.KillTaskResponse>((cb) => c.runtime.killTask({ containerId: id, execId, signal, all: false }, cb));

/** The container's log (the default one, in its state dir). */
function logPathOf(id: string): string {
  return join(suite.stateRoot, 'containers', id, 'container.log');
}

/** A process spec for exec, as the tasks service builds it: the container's own process with other args. */
function execProcess(id: string, args: string[], tty = false): Buffer {
  const spec = suite.spec(id, { cmd: args, tty });
  return json({ ...spec.process, args, terminal: tty });
}

/** Reads an attach stream into text until the exit frame. */
function readAttach(stream: grpc.ClientDuplexStream<agent.AttachTaskRequest, agent.AttachTaskResponse>) {
  let stdout = '';
  let stderr = '';
  let exit: types.ExitStatus | undefined;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: agent.AttachTaskResponse) => {
      const f = m.frame;
      if (f?.$case === 'stdout') stdout += f.value.toString('utf8');
      else if (f?.$case === 'stderr') stderr += f.value.toString('utf8');
      else if (f?.$case === 'exit') exit = f.value;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve());
  });
  return { done, stdout: () => stdout, stderr: () => stderr, exit: () => exit };
}

describe('lifecycle', () => {
  test('create + start echo hello: wait reports 0, the log has hello, delete returns the exit status', async () => {
    const { id, res } = await create('hello', ['echo', 'hello']);
    expect(res.pid).toBeGreaterThan(0);
    expect(res.bundlePath).toBe(join(suite.stateRoot, 'containers', id, 'bundle'));
    expect((await state(id)).status).toBe(agent.TaskStatus.CREATED);
    const started = await start(id);
    expect(started.pid).toBe(res.pid);
    const exit = (await wait(id)).exitStatus!;
    expect(exit).toMatchObject({ exitCode: 0, signal: 0, oomKilled: false });
    expect(exit.exitedAt?.seconds).toBeGreaterThan(0);
    expect((await readLogs(logPathOf(id))).map((l) => [l.stream, l.text])).toEqual([['stdout', 'hello']]);
    const st = await state(id);
    expect(st).toMatchObject({ containerId: id, status: agent.TaskStatus.STOPPED, pid: 0, exitStatus: { exitCode: 0 } });
    expect((await del(id)).exitStatus).toMatchObject({ exitCode: 0 });
    expect((await callError(state(id))).code).toBe(grpc.status.NOT_FOUND);
    expect(existsSync(join(suite.stateRoot, 'containers', id))).toBe(false);
  });

  test('exit 3 is reported as 3; a bind-mounted rootfs directory works as well', async () => {
    const { id } = await create('exit3', ['sh', '-c', 'echo oops >&2; exit 3'], {
      rootfs: [types.Mount.fromPartial({ type: 'bind', source: suite.template, options: ['rbind', 'ro'] })],
    });
    await start(id);
    expect((await wait(id)).exitStatus).toMatchObject({ exitCode: 3, signal: 0 });
    expect(await readLogs(logPathOf(id))).toMatchObject([{ stream: 'stderr', text: 'oops' }]);
    await del(id);
  });

  test('a command that is not found fails create with exit code 127, visible in the error and in the task', async () => {
    const id = suite.id('nosuch');
    const spec = suite.spec(id, { cmd: ['/no/such/command'] });
    const err = await callError(
      call((cb) => c.runtime.createTask({ containerId: id, specJson: json(spec), copyUps: [], rootfsMounts: overlayMounts(suite, id), stdio: undefined, privileged: false }, cb)),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/no such file or directory|not found/);
    expect(err.details).toMatch(/exit code 127/);
    expect(err.metadata.get('berth-exit-code')).toEqual(['127']);
    // Like Docker: the container stays, stopped with 127, until deleted.
    expect(await state(id)).toMatchObject({ status: agent.TaskStatus.STOPPED, exitStatus: { exitCode: 127 } });
    expect((await wait(id)).exitStatus?.exitCode).toBe(127);
    expect((await del(id)).exitStatus?.exitCode).toBe(127);
  });

  test('a file that is not executable gives 126', async () => {
    const id = suite.id('noexec');
    const spec = suite.spec(id, { cmd: ['/not-executable'] });
    const err = await callError(
      call((cb) => c.runtime.createTask({ containerId: id, specJson: json(spec), copyUps: [], rootfsMounts: overlayMounts(suite, id), stdio: undefined, privileged: false }, cb)),
    );
    expect(err.metadata.get('berth-exit-code')).toEqual(['126']);
    expect((await del(id)).exitStatus?.exitCode).toBe(126);
  });

  test('kill SIGKILL: exit 137 with signal 9', async () => {
    const { id } = await create('killme', ['sleep', '1000']);
    await start(id);
    expect((await state(id)).status).toBe(agent.TaskStatus.RUNNING);
    await kill(id, 9);
    expect((await wait(id)).exitStatus).toMatchObject({ exitCode: 137, signal: 9 });
    await del(id);
  });

  test('pause and resume show in the state; delete of a running task needs force', async () => {
    const { id } = await create('pause', ['sleep', '1000']);
    await start(id);
    await call((cb) => c.runtime.pauseTask({ containerId: id }, cb));
    expect((await state(id)).status).toBe(agent.TaskStatus.PAUSED);
    expect((await callError(call((cb) => c.runtime.pauseTask({ containerId: id }, cb)))).code).toBe(grpc.status.FAILED_PRECONDITION);
    await call((cb) => c.runtime.resumeTask({ containerId: id }, cb));
    expect((await state(id)).status).toBe(agent.TaskStatus.RUNNING);
    const refused = await callError(del(id));
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).toMatch(/running/);
    expect((await del(id, true)).exitStatus?.exitCode).toBe(137);
  });

  test('list shows tasks ordered by id with their status', async () => {
    const a = await create('list-a', ['sleep', '1000']);
    const b = await create('list-b', ['true']);
    await start(a.id);
    const tasks = (await call<agent.ListTasksResponse>((cb) => c.runtime.listTasks({}, cb))).tasks;
    const mine = tasks.filter((t) => t.containerId === a.id || t.containerId === b.id);
    expect(mine.map((t) => [t.containerId, t.status])).toEqual([
      [a.id, agent.TaskStatus.RUNNING],
      [b.id, agent.TaskStatus.CREATED],
    ]);
    await del(a.id, true);
    await del(b.id, true);
  });
});

describe('users', () => {
  test('the agent resolves user:group names in the image\'s /etc/passwd and /etc/group', async () => {
    const { id } = await create('alice', ['sh', '-c', 'echo "$(id -u):$(id -g) $(id -G) $HOME"'], { user: 'alice:staff' });
    const config = JSON.parse(readFileSync(join(suite.stateRoot, 'containers', id, 'bundle', 'config.json'), 'utf8')) as { process: { user: unknown; env: string[] } };
    expect(config.process.user).toEqual({ uid: 1000, gid: 50 });
    expect(config.process.env).toContain('HOME=/home/alice');
    await start(id);
    expect((await wait(id)).exitStatus?.exitCode).toBe(0);
    expect((await readLogs(logPathOf(id))).map((l) => l.text)).toEqual(['1000:50 50 /home/alice']);

    // An exec runs as the user it asks for, resolved the same way; unknown ones are refused at ExecProcess.
    const { id: running } = await create('alice-exec', ['sleep', '1000'], { user: 'alice' });
    await start(running);
    await call((cb) =>
      c.runtime.execProcess({ containerId: running, execId: 'as-nobody', processJson: execProcess(running, ['sh', '-c', 'id -u; id -G; echo $HOME']), user: 'nobody', stdio: undefined, privileged: false }, cb),
    );
    const waiting = wait(running, 'as-nobody');
    await start(running, 'as-nobody');
    expect((await waiting).exitStatus?.exitCode).toBe(0);
    const execLog = join(suite.stateRoot, 'containers', running, 'execs', 'as-nobody', 'exec.log');
    expect((await readLogs(execLog)).map((l) => l.text)).toEqual(['65534', '65534', '/nonexistent']);
    const ghost = await callError(
      call((cb) => c.runtime.execProcess({ containerId: running, execId: 'as-ghost', processJson: execProcess(running, ['true']), user: 'ghost', stdio: undefined, privileged: false }, cb)),
    );
    expect(ghost.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(ghost.details).toBe(`exec in ${running}: cannot run as user "ghost": unable to find user ghost: no matching entries in passwd file`);
    expect((await state(running)).execIds).toEqual(['as-nobody']);
    // A privileged exec gets every capability the agent holds (the agent runs in this process).
    const own = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*(\S+)$/m)![1];
    await call((cb) =>
      c.runtime.execProcess({ containerId: running, execId: 'caps', processJson: execProcess(running, ['grep', 'CapEff', '/proc/self/status']), stdio: undefined, privileged: true }, cb),
    );
    const capsExit = wait(running, 'caps');
    await start(running, 'caps');
    expect((await capsExit).exitStatus?.exitCode).toBe(0);
    const capsLog = join(suite.stateRoot, 'containers', running, 'execs', 'caps', 'exec.log');
    expect((await readLogs(capsLog)).map((l) => l.text.replace(/\s+/g, ' '))).toEqual([`CapEff: ${own}`]);
    await del(running, true);
    await del(id);
  });

  test('an unknown user is INVALID_ARGUMENT naming it, and no task is left', async () => {
    const err = await callError(create('ghost', ['true'], { user: 'ghost:staff' }));
    const id = suite.id('ghost');
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe(`container ${id}: cannot run as user "ghost:staff": unable to find user ghost: no matching entries in passwd file`);
    expect((await callError(state(id))).code).toBe(grpc.status.NOT_FOUND);
    expect(existsSync(join(suite.stateRoot, 'containers', id))).toBe(false);
    expect(await isMountPoint(join(suite.stateRoot, 'containers', id, 'bundle', 'rootfs'))).toBe(false);
  });
});

describe('exec', () => {
  test('exec in a running container: created, started, waited for, deleted; listed meanwhile', async () => {
    const { id } = await create('exec', ['sleep', '1000']);
    await start(id);
    await call((cb) =>
      c.runtime.execProcess({ containerId: id, execId: 'e1', processJson: execProcess(id, ['sh', '-c', 'echo from-exec; exit 4']), stdio: undefined, privileged: false }, cb),
    );
    expect((await state(id)).execIds).toEqual(['e1']);
    const dup = await callError(
      call((cb) => c.runtime.execProcess({ containerId: id, execId: 'e1', processJson: execProcess(id, ['true']), stdio: undefined, privileged: false }, cb)),
    );
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    const waiting = wait(id, 'e1');
    const pid = (await start(id, 'e1')).pid;
    expect(pid).toBeGreaterThan(0);
    expect((await waiting).exitStatus?.exitCode).toBe(4);
    expect((await del(id, false, 'e1')).exitStatus?.exitCode).toBe(4);
    expect((await state(id)).execIds).toEqual([]);
    await del(id, true);
  });

  test('exec of a missing command keeps its 127 visible; exec in a stopped container is refused', async () => {
    const { id } = await create('exec127', ['sleep', '1000']);
    await start(id);
    await call((cb) => c.runtime.execProcess({ containerId: id, execId: 'bad', processJson: execProcess(id, ['nosuchcmd']), stdio: undefined, privileged: false }, cb));
    const err = await callError(start(id, 'bad'));
    expect(err.metadata.get('berth-exit-code')).toEqual(['127']);
    expect(err.details).toMatch(/exit code 127/);
    await kill(id, 9);
    await wait(id);
    const refused = await callError(
      call((cb) => c.runtime.execProcess({ containerId: id, execId: 'late', processJson: execProcess(id, ['true']), stdio: undefined, privileged: false }, cb)),
    );
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).toMatch(/stopped/);
    await del(id);
  });

  test('attach to an exec before it starts: stdin in, stdout out, exit last', async () => {
    const { id } = await create('execattach', ['sleep', '1000']);
    await start(id);
    await call((cb) =>
      c.runtime.execProcess(
        { containerId: id, execId: 'cat', processJson: execProcess(id, ['cat']), stdio: { terminal: false, stdin: true, logPath: '', logMaxBytes: 0, logMaxFiles: 0 }, privileged: false },
        cb,
      ),
    );
    const stream = c.runtime.attachTask();
    const registered = new Promise((resolve) => stream.once('metadata', resolve));
    const out = readAttach(stream);
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: 'cat', stdin: true, stdout: true, stderr: true, awaitCreate: false } } });
    // The headers come once the attach is registered for the start's session: starting now loses nothing.
    await registered;
    await start(id, 'cat');
    stream.write({ frame: { $case: 'stdin', value: Buffer.from('ping from exec\n') } });
    await eventually(() => (out.stdout().includes('ping from exec') ? true : undefined), 'the exec to echo stdin');
    stream.end();
    await out.done;
    expect(out.exit()).toMatchObject({ exitCode: 0 });
    await del(id, true);
  });
});

describe('stdio', () => {
  test('attach bidi to cat: stdin goes in, stdout comes back, closing stdin ends it with its exit', async () => {
    const { id } = await create('cat', ['cat'], { stdin: true });
    const stream = c.runtime.attachTask();
    const connected = new Promise((resolve) => stream.once('metadata', resolve));
    const out = readAttach(stream);
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: '', stdin: true, stdout: true, stderr: true, awaitCreate: false } } });
    // The response headers say the stdio is connected: starting now loses nothing.
    await connected;
    await start(id);
    stream.write({ frame: { $case: 'stdin', value: Buffer.from('hello cat\n') } });
    await eventually(() => (out.stdout().includes('hello cat\n') ? true : undefined), 'cat to echo its stdin');
    stream.write({ frame: { $case: 'closeStdin', value: true } });
    await out.done;
    expect(out.stdout()).toBe('hello cat\n');
    expect(out.exit()).toMatchObject({ exitCode: 0 });
    await del(id);
  });

  test('a client that reads slowly gets all of the output and the exit, even after the task is deleted (as the tasks service does on exit)', async () => {
    // ≈ 200 KB: more than the agent can hand to gRPC before this client's flow control stops it, less
    // than the pipes and sockets in between hold, so the process ends (and its task is deleted) with
    // output still on its way. Before the agent took the exit status at the start, such an attach
    // never ended: the status was gone with the task.
    const lines = 4_000;
    const line = (i: number) => `line ${i} 0123456789012345678901234567890123456789`;
    const { id } = await create('slow', ['sh', '-c', `i=0; while [ $i -lt ${lines} ]; do echo "line $i 0123456789012345678901234567890123456789"; i=$((i+1)); done`]);
    const stream = c.runtime.attachTask();
    const connected = new Promise((resolve) => stream.once('metadata', resolve));
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: '', stdin: false, stdout: true, stderr: true, awaitCreate: false } } });
    await connected;
    // Not reading yet: flow control pushes back on the agent.
    stream.pause();
    await start(id);
    expect((await wait(id)).exitStatus?.exitCode).toBe(0);
    await del(id);
    const out = readAttach(stream);
    stream.resume();
    await out.done;
    const got = out.stdout().split('\n');
    expect(got.pop()).toBe('');
    expect(got.length).toBe(lines);
    expect(got[0]).toBe(line(0));
    expect(got[lines - 1]).toBe(line(lines - 1));
    expect(out.exit()).toMatchObject({ exitCode: 0 });
  }, 20_000);

  test('resize: ResizePty and an attach resize frame change the terminal size the process sees', async () => {
    // Each line in makes the shell report the size; conmon applies a resize on its own schedule, so ask until it shows.
    const { id } = await create('tty', ['sh', '-c', 'while read l; do [ "$l" = q ] && exit 0; stty size; done'], { tty: true, stdin: true });
    const stream = c.runtime.attachTask();
    const out = readAttach(stream);
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: '', stdin: true, stdout: true, stderr: false, awaitCreate: false } } });
    await new Promise((r) => setTimeout(r, 200));
    await start(id);
    const sizeShows = async (rows: number, cols: number): Promise<void> => {
      await eventually(async () => {
        if (out.stdout().includes(`${rows} ${cols}`)) return true;
        stream.write({ frame: { $case: 'stdin', value: Buffer.from('\n') } });
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      }, `stty to report ${rows} rows, ${cols} columns`);
    };
    await call((cb) => c.runtime.resizePty({ containerId: id, execId: '', size: { width: 100, height: 30 } }, cb));
    await sizeShows(30, 100);
    stream.write({ frame: { $case: 'resize', value: { width: 90, height: 20 } } });
    await sizeShows(20, 90);
    stream.write({ frame: { $case: 'stdin', value: Buffer.from('q\n') } });
    await out.done;
    expect(out.exit()?.exitCode).toBe(0);
    const noTty = await create('notty', ['sleep', '1000']);
    const err = await callError(call((cb) => c.runtime.resizePty({ containerId: noTty.id, execId: '', size: { width: 10, height: 10 } }, cb)));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    await del(id);
    await del(noTty.id, true);
  });

  test('logs rotate at log_max_bytes (the agent runs the rotation timer); no line is lost', async () => {
    const id = suite.id('rotate');
    const script = 'i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); [ $((i % 50)) -eq 0 ] && sleep 0.3; done';
    await call((cb) =>
      c.runtime.createTask(
        {
          containerId: id,
          specJson: json(suite.spec(id, { cmd: ['sh', '-c', script] })),
          copyUps: [], rootfsMounts: overlayMounts(suite, id),
          stdio: { terminal: false, stdin: false, logPath: '', logMaxBytes: 1500, logMaxFiles: 10 },
          privileged: false,
        },
        cb,
      ),
    );
    await start(id);
    expect((await wait(id)).exitStatus?.exitCode).toBe(0);
    expect(existsSync(`${logPathOf(id)}.1`)).toBe(true);
    const lines = await readLogs(logPathOf(id));
    expect(lines.map((l) => l.text)).toEqual(Array.from({ length: 400 }, (_, i) => `line-${i}`));
    await del(id);
  });

  test('an attach with await_create made before the create connects once the task is created and loses no output', async () => {
    const id = suite.id('awaitcreate');
    const stream = c.runtime.attachTask();
    const out = readAttach(stream);
    const headers = new Promise<void>((resolve) => stream.once('metadata', () => resolve()));
    let connected = false;
    void headers.then(() => (connected = true));
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: '', stdin: false, stdout: true, stderr: true, awaitCreate: true } } });
    stream.end();
    // Nothing to connect to yet: the stream waits (an attach without await_create is NOT_FOUND, below).
    await new Promise((r) => setTimeout(r, 300));
    expect(connected).toBe(false);
    const order: string[] = [];
    void headers.then(() => order.push('connected'));
    await create('awaitcreate', ['sh', '-c', 'echo first; echo second >&2; exit 4']);
    order.push('created');
    await headers;
    // Connected while the create ran (conmon listens before it runs `runc create`), not after it.
    expect(order).toEqual(['connected', 'created']);
    await start(id);
    await out.done;
    expect(out.stdout()).toBe('first\n');
    expect(out.stderr()).toBe('second\n');
    expect(out.exit()?.exitCode).toBe(4);
    await del(id);

    const plain = c.runtime.attachTask();
    const failed = new Promise<grpc.ServiceError>((resolve) => plain.on('error', resolve));
    plain.on('data', () => undefined);
    plain.write({ frame: { $case: 'target', value: { containerId: suite.id('nosuch'), execId: '', stdin: false, stdout: true, stderr: true, awaitCreate: false } } });
    plain.end();
    expect((await failed).code).toBe(grpc.status.NOT_FOUND);

    const onExec = c.runtime.attachTask();
    const refused = new Promise<grpc.ServiceError>((resolve) => onExec.on('error', resolve));
    onExec.on('data', () => undefined);
    onExec.write({ frame: { $case: 'target', value: { containerId: id, execId: 'e1', stdin: false, stdout: true, stderr: true, awaitCreate: true } } });
    onExec.end();
    const err = await refused;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/await_create is for the init process only/);
  });

  test('an await_create attach whose create fails (command not found) reports the 127 exit', async () => {
    const id = suite.id('awaitfail');
    const stream = c.runtime.attachTask();
    const out = readAttach(stream);
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: '', stdin: false, stdout: true, stderr: true, awaitCreate: true } } });
    stream.end();
    await expect(create('awaitfail', ['/no/such/command'])).rejects.toThrow(/not found|no such file/i);
    await out.done;
    expect(out.exit()?.exitCode).toBe(127);
    await del(id);
  });

  test('attaching to a task that already exited returns its exit status at once', async () => {
    const { id } = await create('gone', ['sh', '-c', 'exit 9']);
    await start(id);
    await wait(id);
    const stream = c.runtime.attachTask();
    const out = readAttach(stream);
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: '', stdin: false, stdout: true, stderr: true, awaitCreate: false } } });
    stream.end();
    await out.done;
    expect(out.exit()?.exitCode).toBe(9);
    await del(id);
  });
});

describe('inspection', () => {
  test('pids, stats and a live resource update', async () => {
    const { id } = await create('stats', ['sh', '-c', 'sleep 1000 & wait'], { extra: { resources: { memoryBytes: 256 * 1024 * 1024 } } });
    const pid = (await start(id)).pid;
    const processes = (await eventually(async () => {
      const p = (await call<agent.ListPidsResponse>((cb) => c.runtime.listPids({ containerId: id }, cb))).processes;
      return p.length === 2 ? p : undefined;
    }, 'two processes')) as types.ProcessInfo[];
    expect(processes.map((p) => p.pid)).toContain(pid);
    const init = processes.find((p) => p.pid === pid)!;
    expect(init.args).toEqual(['sh', '-c', 'sleep 1000 & wait']);
    expect(init.execId).toBe('');
    const child = processes.find((p) => p.pid !== pid)!;
    expect(child).toMatchObject({ ppid: pid, uid: 0, args: ['sleep', '1000'] });
    expect(child.rssBytes).toBeGreaterThan(0);
    expect(child.startedAt?.seconds).toBeGreaterThan(0);

    const stats = (await call<agent.GetTaskStatsResponse>((cb) => c.runtime.getTaskStats({ containerId: id }, cb))).stats!;
    expect(stats.containerId).toBe(id);
    expect(stats.memory?.usageBytes).toBeGreaterThan(0);
    expect(stats.memory?.limitBytes).toBe(256 * 1024 * 1024);
    expect(stats.cpu?.usageTotalNs).toBeGreaterThan(0);
    expect(stats.cpu?.onlineCpus).toBeGreaterThan(0);
    expect(stats.cpu?.systemUsageNs).toBeGreaterThan(0);
    expect(stats.pids?.current).toBe(2);
    await call((cb) => c.runtime.updateTask({ containerId: id, resourcesJson: json({ pids: { limit: 40 }, memory: { limit: 128 * 1024 * 1024 } }) }, cb));
    const after = (await call<agent.GetTaskStatsResponse>((cb) => c.runtime.getTaskStats({ containerId: id }, cb))).stats!;
    expect(after.pids?.limit).toBe(40);
    expect(after.memory?.limitBytes).toBe(128 * 1024 * 1024);
    const bad = await callError(call((cb) => c.runtime.updateTask({ containerId: id, resourcesJson: Buffer.from('[1]') }, cb)));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    await del(id, true);
  });

  test('GetInfo: node id, versions, capacity, running count', async () => {
    const { id } = await create('info', ['sleep', '1000']);
    await start(id);
    const info = await call<agent.GetInfoResponse>((cb) => c.agent.getInfo({}, cb));
    expect(info.nodeId).toBe('grt-node');
    expect(info.os).toBe('linux');
    expect(info.versions.runc).toMatch(/^\d+\.\d+/);
    expect(info.versions.conmon).toMatch(/^\d+\.\d+/);
    expect(info.versions.cni).toBeTruthy();
    expect(info.versions.agent).toBe('0.1.0');
    expect(info.versions.kernel).toBeTruthy();
    expect(info.capacity?.cpus).toBeGreaterThan(0);
    expect(info.capacity?.memoryBytes).toBeGreaterThan(0);
    expect([1, 2]).toContain(info.cgroupVersion);
    const listed = (await call<agent.ListTasksResponse>((cb) => c.runtime.listTasks({}, cb))).tasks;
    expect(info.runningTasks).toBe(listed.filter((t) => t.status === agent.TaskStatus.RUNNING).length);
    expect(info.runningTasks).toBeGreaterThanOrEqual(1);
    expect(info.cniPluginDirs).toEqual(['/usr/lib/cni']);
    await del(id, true);
  });
});

describe('mounts', () => {
  test('MountRootfs and UnmountRootfs over an overlay; idempotent; bad input refused', async () => {
    const target = join(suite.root, 'mnt-test');
    const mounts = overlayMounts(suite, suite.id('mnt'));
    await call((cb) => c.mounts.mountRootfs({ target, mounts }, cb));
    expect(await isMountPoint(target)).toBe(true);
    expect(readFileSync(join(target, 'etc/passwd'), 'utf8')).toMatch(/^root:/);
    await call((cb) => c.mounts.mountRootfs({ target, mounts }, cb));
    await call((cb) => c.mounts.unmountRootfs({ target, removeTarget: true }, cb));
    expect(await isMountPoint(target)).toBe(false);
    expect(existsSync(target)).toBe(false);
    await call((cb) => c.mounts.unmountRootfs({ target, removeTarget: true }, cb));

    const relative = await callError(call((cb) => c.mounts.mountRootfs({ target: 'rel/path', mounts }, cb)));
    expect(relative.code).toBe(grpc.status.INVALID_ARGUMENT);
    const missing = await callError(
      call((cb) => c.mounts.mountRootfs({ target, mounts: [types.Mount.fromPartial({ type: 'bind', source: '/no/such/dir', options: ['rbind'] })] }, cb)),
    );
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).toMatch(/\/no\/such\/dir does not exist/);
    expect(await isMountPoint(target)).toBe(false);
  });
});

describe('bad input', () => {
  test('unknown container, invalid signal, bad spec JSON, duplicate id, missing bind source', async () => {
    const unknown = await callError(kill('no-such-container', 9));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toMatch(/no-such-container/);

    const { id } = await create('bad', ['sleep', '1000']);
    const sig = await callError(kill(id, 0));
    expect(sig.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await callError(kill(id, 99))).code).toBe(grpc.status.INVALID_ARGUMENT);

    const dup = await callError(create('bad', ['true']));
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);

    const notJson = await callError(
      call((cb) => c.runtime.createTask({ containerId: suite.id('json'), specJson: Buffer.from('{nope'), copyUps: [], rootfsMounts: [], stdio: undefined, privileged: false }, cb)),
    );
    expect(notJson.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(notJson.details).toMatch(/spec_json is not valid JSON/);

    const bindId = suite.id('bind');
    const spec = suite.spec(bindId, { cmd: ['true'] });
    spec.mounts = [...(spec.mounts ?? []), { destination: '/data', type: 'bind', source: '/no/such/source', options: ['rbind'] }];
    const badBind = await callError(
      call((cb) => c.runtime.createTask({ containerId: bindId, specJson: json(spec), copyUps: [], rootfsMounts: overlayMounts(suite, bindId), stdio: undefined, privileged: false }, cb)),
    );
    expect(badBind.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badBind.details).toMatch(/\/no\/such\/source does not exist/);
    expect((await callError(state(bindId))).code).toBe(grpc.status.NOT_FOUND);

    expect((await state(id)).status).toBe(agent.TaskStatus.CREATED);
    await del(id, true);
  });
});

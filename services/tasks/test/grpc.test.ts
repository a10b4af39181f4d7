// The gRPC surface over a real grpc-js server on a unix socket (neighbours
// faked): namespaces from metadata, status codes, the logs and attach streams.
import { ERROR_REASON_METADATA_KEY, ErrorReason } from '@berth/api/metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACE_METADATA_KEY, tasks } from '@berth/api';
import { createClient, startGrpcServer, type RunningGrpcServer } from '@berth/service-kit';
import { containersHandlers } from '../src/grpc/containers-handlers.js';
import { nodesHandlers } from '../src/grpc/nodes-handlers.js';
import { tasksHandlers } from '../src/grpc/tasks-handlers.js';
import { NodeRegistry } from '../src/nodes/registry.js';
import { Harness, startFailure } from './fakes.js';

let h: Harness;
let server: RunningGrpcServer;
let containers: tasks.ContainersClient;
let taskClient: tasks.TasksClient;
let nodes: tasks.NodesClient;

beforeAll(async () => {
  h = new Harness();
  await h.engine.start();
  const socket = join(h.dir, 'tasks.sock');
  server = await startGrpcServer({
    socket,
    socketMode: 0o600,
    services: [
      { definition: tasks.ContainersService, handlers: containersHandlers(h.engine) },
      { definition: tasks.TasksService, handlers: tasksHandlers(h.engine) },
      { definition: tasks.NodesService, handlers: nodesHandlers(new NodeRegistry(h.engine.runtime.store.db, { defaultIntervalSeconds: 5, missedBeats: 3 })) },
    ],
  });
  containers = createClient(tasks.ContainersClient, socket);
  taskClient = createClient(tasks.TasksClient, socket);
  nodes = createClient(tasks.NodesClient, socket);
});

afterAll(async () => {
  containers?.close();
  taskClient?.close();
  nodes?.close();
  await server?.shutdown(1000);
  await h?.close();
});

const md = (ns?: string) => {
  const m = new grpc.Metadata();
  if (ns !== undefined) m.set(NAMESPACE_METADATA_KEY, ns);
  return m;
};

/** Promise form of a unary call, with optional namespace. */
function call<Req, Res>(
  method: (r: Req, m: grpc.Metadata, o: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall,
  req: Req,
  ns?: string,
): Promise<Res> {
  return new Promise((resolve, reject) => method(req, md(ns), {}, (e, res) => (e ? reject(e) : resolve(res))));
}

async function code(p: Promise<unknown>): Promise<{ code: grpc.status; details: string; metadata?: grpc.Metadata }> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected an error');
}

describe('Containers over gRPC', () => {
  it('creates in the namespace from metadata and hides it from the others', async () => {
    const created = await call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'api', spec: { image: 'busybox' } }), 'team-a');
    expect(created.container?.status?.state).toBe(tasks.ContainerState.CREATED);
    expect(JSON.parse(created.container!.runtimeSpecJson.toString()).process.args).toEqual(['sh']);
    const got = await call(containers.getContainer.bind(containers), { id: 'api' }, 'team-a');
    expect(got.container?.id).toBe(created.container?.id);
    const other = await code(call(containers.getContainer.bind(containers), { id: 'api' }));
    expect(other.code).toBe(grpc.status.NOT_FOUND);
    expect(other.details).toContain('api');
    const bad = await code(call(containers.listContainers.bind(containers), { filters: [] }, 'no.dots'));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('answers a duplicate name with ALREADY_EXISTS and an unknown image with NOT_FOUND', async () => {
    const dup = await code(call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'api', spec: { image: 'busybox' } }), 'team-a'));
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    const missing = await code(call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ spec: { image: 'ghost:9' } })));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.details).toContain('ghost:9');
    // the reason a client pulls on (docker run's create, pull, create again); a duplicate name has none
    expect(missing.metadata?.get(ERROR_REASON_METADATA_KEY)).toEqual([ErrorReason.IMAGE_NOT_FOUND]);
    expect((dup as { metadata?: grpc.Metadata }).metadata?.get(ERROR_REASON_METADATA_KEY) ?? []).toEqual([]);
  });
});

describe('Tasks over gRPC', () => {
  it('starts, waits and reports FAILED_PRECONDITION for exec in a stopped container', async () => {
    const c = (await call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'job', spec: { image: 'busybox' } }))).container!;
    const started = await call(taskClient.startTask.bind(taskClient), { containerId: 'job', execId: '' });
    expect(started.pid).toBeGreaterThan(0);
    const waiting = call(taskClient.waitTask.bind(taskClient), { containerId: 'job', execId: '' });
    setTimeout(() => h.agent.exit(c.id, 2), 20);
    expect((await waiting).exitStatus?.exitCode).toBe(2);
    const exec = await code(call(taskClient.execProcess.bind(taskClient), tasks.ExecProcessRequest.fromPartial({ containerId: 'job', process: { args: ['ls'] } })));
    expect(exec.code).toBe(grpc.status.FAILED_PRECONDITION);
    const got = await call(containers.getContainer.bind(containers), { id: 'job' });
    expect(got.container?.status?.state).toBe(tasks.ContainerState.STOPPED);
    expect(got.container?.status?.exitStatus?.exitCode).toBe(2);
  });

  it('streams logs with tail and follows until the container stops', async () => {
    const c = (await call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'chatty', spec: { image: 'busybox' } }))).container!;
    await call(taskClient.startTask.bind(taskClient), { containerId: 'chatty', execId: '' });
    const logPath = h.engine.runtime.store.get(c.id)!.logPath;
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, ['a', 'b', 'c'].map((t, i) => `2024-01-01T00:00:0${i}.5Z stdout F ${t}\n`).join(''));
    const entries: string[] = [];
    const stream = taskClient.readLogs(tasks.ReadLogsRequest.fromPartial({ containerId: 'chatty', tail: 2, follow: true }), md());
    stream.on('data', (r: tasks.ReadLogsResponse) => entries.push(...r.entries.map((e) => e.data.toString())));
    const ended = new Promise((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let i = 0; i < 200 && entries.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    writeFileSync(logPath, '2024-01-01T00:00:09Z stderr F d\n', { flag: 'a' });
    for (let i = 0; i < 200 && entries.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    h.agent.exit(c.id, 0);
    await ended;
    expect(entries).toEqual(['b\n', 'c\n', 'd\n']);
  });

  it('passes attach frames both ways and ends with the exit', async () => {
    const c = (await call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'shell', spec: { image: 'busybox', tty: true, openStdin: true } }))).container!;
    await call(taskClient.startTask.bind(taskClient), { containerId: 'shell', execId: '' });
    const duplex = taskClient.attachTask(md());
    const received: tasks.AttachTaskResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      duplex.on('data', (r: tasks.AttachTaskResponse) => received.push(r));
      duplex.on('end', resolve);
      duplex.on('error', reject);
    });
    // Headers come once the agent's side is connected, before any output: the client's cue to start.
    const connected = new Promise<number>((resolve) => duplex.once('metadata', () => resolve(received.length)));
    duplex.write({ frame: { $case: 'target', value: { containerId: 'shell', execId: '', stdin: true, stdout: true, stderr: false } } });
    expect(await connected).toBe(0);
    duplex.write({ frame: { $case: 'stdin', value: Buffer.from('echo hi\n') } });
    let session;
    for (let i = 0; i < 200 && !(session = h.agent.attachSessions[0])?.sent[1]; i++) await new Promise((r) => setTimeout(r, 10));
    expect(session!.sent[0]?.frame).toMatchObject({ $case: 'target', value: { containerId: c.id } });
    expect(session!.sent[1]?.frame).toEqual({ $case: 'stdin', value: Buffer.from('echo hi\n') });
    session!.push({ frame: { $case: 'stdout', value: Buffer.from('hi\r\n') } });
    session!.push({ frame: { $case: 'exit', value: { exitCode: 0, signal: 0, oomKilled: false, exitedAt: undefined } } });
    await done;
    duplex.end();
    expect(received.map((r) => r.frame?.$case)).toEqual(['stdout', 'exit']);
    expect((received[0]?.frame as { value: Buffer }).value.toString()).toBe('hi\r\n');
  });

  it('keeps the output and the exit frame flowing after the client half-closes', async () => {
    await call(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'piped', spec: { image: 'busybox', openStdin: true } }));
    await call(taskClient.startTask.bind(taskClient), { containerId: 'piped', execId: '' });
    const duplex = taskClient.attachTask(md());
    const received: tasks.AttachTaskResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      duplex.on('data', (r: tasks.AttachTaskResponse) => received.push(r));
      duplex.on('end', resolve);
      duplex.on('error', reject);
    });
    duplex.write({ frame: { $case: 'target', value: { containerId: 'piped', execId: '', stdin: true, stdout: true, stderr: true } } });
    duplex.write({ frame: { $case: 'stdin', value: Buffer.from('input\n') } });
    duplex.end();
    const session = () => h.agent.attachSessions.at(-1);
    for (let i = 0; i < 200 && !session()?.ended; i++) await new Promise((r) => setTimeout(r, 10));
    expect(session()?.ended).toBe(true);
    expect(session()?.cancelled).toBe(false);
    session()!.push({ frame: { $case: 'stdout', value: Buffer.from('input\n') } });
    session()!.push({ frame: { $case: 'exit', value: { exitCode: 3, signal: 0, oomKilled: false, exitedAt: undefined } } });
    await done;
    expect(received.map((r) => r.frame?.$case)).toEqual(['stdout', 'exit']);
    expect(received[1]?.frame).toMatchObject({ $case: 'exit', value: { exitCode: 3 } });
  });

  it('refuses an attach whose first frame is not the target', async () => {
    const duplex = taskClient.attachTask(md());
    const failed = new Promise<grpc.ServiceError>((resolve) => duplex.on('error', resolve));
    duplex.on('data', () => undefined);
    duplex.write({ frame: { $case: 'stdin', value: Buffer.from('x') } });
    expect((await failed).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('lists nodes (none registered yet) and answers NOT_FOUND for an unknown one', async () => {
    expect((await call(nodes.listNodes.bind(nodes), { filters: [] })).nodes).toEqual([]);
    expect((await code(call(nodes.getNode.bind(nodes), { id: 'nope' }))).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('RunContainer over gRPC', () => {
  /** Opens a RunContainer call with its start frame; frames collects what comes back. */
  function run(start: Partial<tasks.RunContainerStart>) {
    const duplex = taskClient.runContainer(md());
    const frames: NonNullable<tasks.RunContainerResponse['frame']>[] = [];
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      duplex.on('data', (r: tasks.RunContainerResponse) => r.frame && frames.push(r.frame));
      duplex.on('end', () => resolve(undefined));
      duplex.on('error', resolve);
    });
    duplex.write({ frame: { $case: 'start', value: tasks.RunContainerStart.fromPartial(start) } });
    return { duplex, frames, ended };
  }
  const until = async (what: () => unknown) => {
    for (let i = 0; i < 300 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(what()).toBeTruthy();
  };
  const cases = (frames: { $case: string }[]) => frames.map((f) => f.$case);

  it('attaches while creating, starts only once attached, relays, and with remove ends once the container is gone', async () => {
    const startTask = h.agent.startTask.bind(h.agent);
    const createTask = h.agent.createTask.bind(h.agent);
    const sessionsAtStart: number[] = [];
    const sessionsAtCreate: number[] = [];
    h.agent.startTask = (id, execId) => {
      sessionsAtStart.push(h.agent.attachSessions.length);
      return startTask(id, execId);
    };
    h.agent.createTask = (req) => {
      sessionsAtCreate.push(h.agent.attachSessions.length);
      return createTask(req);
    };
    const sessionsBefore = h.agent.attachSessions.length;
    const r = run({ create: tasks.CreateContainerRequest.fromPartial({ name: 'once', spec: { image: 'busybox', cmd: { args: ['echo', 'hi'] } } }), remove: true });
    try {
      await until(() => r.frames.some((f) => f.$case === 'startedPid'));
    } finally {
      h.agent.startTask = startTask;
      h.agent.createTask = createTask;
    }
    // The attach (with await_create) goes out before the agent is asked to create the task.
    expect(sessionsAtCreate).toEqual([sessionsBefore + 1]);
    expect(sessionsAtStart).toEqual([sessionsBefore + 1]);
    const created = r.frames[0];
    if (created?.$case !== 'created') throw new Error(`first frame: ${created?.$case}`);
    const id = created.value.id;
    const session = h.agent.attachSessions.at(-1)!;
    expect(session.sent[0]?.frame).toEqual({ $case: 'target', value: { containerId: id, execId: '', stdin: false, stdout: true, stderr: true, awaitCreate: true } });
    session.push({ frame: { $case: 'stdout', value: Buffer.from('hi\n') } });
    session.push({ frame: { $case: 'exit', value: { exitCode: 4, signal: 0, oomKilled: false, exitedAt: undefined } } });
    h.agent.exit(id, 4);
    expect(await r.ended).toBeUndefined();
    expect(cases(r.frames)).toEqual(['created', 'startedPid', 'stdout', 'exit']);
    expect(r.frames[3]).toMatchObject({ value: { exitCode: 4 } });
    expect((await code(call(containers.getContainer.bind(containers), { id }))).code).toBe(grpc.status.NOT_FOUND);
    expect(h.agent.tasks.has(id)).toBe(false);
  });

  it('detached: answers with the pid once started and leaves the container running', async () => {
    const r = run({ create: tasks.CreateContainerRequest.fromPartial({ name: 'bg', spec: { image: 'busybox' } }), detach: true });
    expect(await r.ended).toBeUndefined();
    expect(cases(r.frames)).toEqual(['created', 'startedPid']);
    const got = await call(containers.getContainer.bind(containers), { id: 'bg' });
    expect(got.container?.status?.state).toBe(tasks.ContainerState.RUNNING);
    expect(r.frames[1]).toEqual({ $case: 'startedPid', value: got.container?.status?.pid });
  });

  it('refuses a bad start frame before creating anything', async () => {
    const before = (await call(containers.listContainers.bind(containers), { filters: [] })).containers.length;
    const detachedStdin = await run({ create: tasks.CreateContainerRequest.fromPartial({ spec: { image: 'busybox', openStdin: true } }), detach: true, stdin: true }).ended;
    expect(detachedStdin?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const noSpec = await run({ create: tasks.CreateContainerRequest.fromPartial({ name: 'nothing' }) }).ended;
    expect(noSpec?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const duplex = taskClient.runContainer(md());
    const notFirst = new Promise<grpc.ServiceError>((resolve) => duplex.on('error', resolve));
    duplex.on('data', () => undefined);
    duplex.write({ frame: { $case: 'stdin', value: Buffer.from('x') } });
    expect((await notFirst).code).toBe(grpc.status.INVALID_ARGUMENT);
    const missing = run({ create: tasks.CreateContainerRequest.fromPartial({ spec: { image: 'ghost:9' } }) });
    const err = await missing.ended;
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(err?.metadata?.get(ERROR_REASON_METADATA_KEY)).toEqual([ErrorReason.IMAGE_NOT_FOUND]);
    expect(missing.frames).toEqual([]);
    expect((await call(containers.listContainers.bind(containers), { filters: [] })).containers.length).toBe(before);
  });

  it('a start that fails ends the call with its error after the created frame; with remove the container is gone', async () => {
    h.agent.script.failNext('createTask', startFailure('exec: "nope": executable file not found in $PATH', 127));
    const r = run({ create: tasks.CreateContainerRequest.fromPartial({ name: 'nope', spec: { image: 'busybox', cmd: { args: ['nope'] } } }), remove: true });
    const err = await r.ended;
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toContain('executable file not found');
    expect(cases(r.frames)).toEqual(['created']);
    expect((await code(call(containers.getContainer.bind(containers), { id: 'nope' }))).code).toBe(grpc.status.NOT_FOUND);
    // without remove it stays, stopped, with Docker's exit code recorded
    h.agent.script.failNext('createTask', startFailure('exec: "nope": executable file not found in $PATH', 127));
    const kept = await run({ create: tasks.CreateContainerRequest.fromPartial({ name: 'nope-kept', spec: { image: 'busybox', cmd: { args: ['nope'] } } }) }).ended;
    expect(kept?.code).toBe(grpc.status.FAILED_PRECONDITION);
    const got = await call(containers.getContainer.bind(containers), { id: 'nope-kept' });
    expect(got.container?.status?.exitStatus?.exitCode).toBe(127);
  });
});

// What the agent service reports on NATS: durable agent.task.exit events
// (stored by JetStream, so a consumer that starts after the exit, and after
// the agent stopped, still gets them; published late, not lost, when NATS was
// down), no public tasks.* events (the tasks service alone publishes those),
// and node heartbeats.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { agent, eventPayloads, events } from '@berth/api';
import { heartbeatSubject, type Bus, type DurableConsumer, type EventEnvelope } from '@berth/bus';
import { startNats, type TestNats } from '@berth/testkit';
import type { RunningService } from '@berth/service-kit';
import type { AgentConfig } from '../src/config.js';
import { call, callError, clientsFor, json, overlayMounts, startAgentInProcess, testBus, type Clients, type LogSink } from './helpers/agent.js';
import { createSuite, destroySuite, eventually, type Suite } from './helpers/suite.js';

const NODE = 'gev-node';
let suite: Suite;
let nats: TestNats;
let natsStore: string;
let service: RunningService<AgentConfig> | undefined;
let agentLogs: LogSink | undefined;
let c: Clients | undefined;
let bus: Bus | undefined;
const consumers: DurableConsumer[] = [];

beforeAll(async () => {
  suite = createSuite('gev', { stateDir: 'agent' });
  natsStore = join(suite.root, 'nats-store');
  nats = await startNats({ storeDir: natsStore });
});

afterEach(async () => {
  await stopAgent().catch(() => undefined);
});

afterAll(async () => {
  for (const k of consumers) await k.stop().catch(() => undefined);
  await bus?.close().catch(() => undefined);
  c?.close();
  await service?.stop().catch(() => undefined);
  await nats?.stop();
  await destroySuite(suite);
});

async function startAgent(heartbeatIntervalMs = 5000): Promise<void> {
  ({ service, logs: agentLogs } = await startAgentInProcess({ suite, natsUrl: nats.url, node: NODE, heartbeatIntervalMs }));
  c = clientsFor(suite);
}

async function stopAgent(): Promise<void> {
  c?.close();
  c = undefined;
  await service?.stop();
  service = undefined;
}

function clients(): Clients {
  if (!c) throw new Error('no agent running');
  return c;
}

/** Creates and starts a busybox container; `namespace` goes into the spec's annotation. */
async function run(name: string, args: string[], namespace?: string): Promise<string> {
  const id = suite.id(name);
  const spec = suite.spec(id, { cmd: args });
  if (namespace) spec.annotations = { ...spec.annotations, 'org.berth.namespace': namespace };
  await call((cb) => clients().runtime.createTask({ containerId: id, specJson: json(spec), copyUps: [], rootfsMounts: overlayMounts(suite, id), stdio: undefined, privileged: false }, cb));
  await call((cb) => clients().runtime.startTask({ containerId: id, execId: '' }, cb));
  return id;
}

const wait = (id: string) => call<agent.WaitTaskResponse>((cb) => clients().runtime.waitTask({ containerId: id, execId: '' }, cb));

type Exit = { envelope: EventEnvelope; payload: events.TaskExit };

/** A durable consumer of every namespace's agent.task.exit, created now; exits by container id (and "<id>/<exec id>"). */
async function consumeExits(durable: string): Promise<Map<string, Exit[]>> {
  bus ??= await testBus(nats.url, 'gev');
  const seen = new Map<string, Exit[]>();
  consumers.push(
    await bus.consume(durable, 'berth.*.events.agent.task.exit', (envelope) => {
      const payload = eventPayloads['tasks.exit'].fromJSON(envelope.payload);
      const key = payload.execId === '' ? payload.containerId : `${payload.containerId}/${payload.execId}`;
      seen.set(key, [...(seen.get(key) ?? []), { envelope, payload }]);
    }),
  );
  return seen;
}

describe('agent.task.exit', () => {
  test('stored durably with the real codes and the container namespace; a consumer created after the agent stopped gets them', async () => {
    await startAgent();
    bus ??= await testBus(nats.url, 'gev');
    // The public tasks.* events belong to the tasks service: the agent publishes none.
    const live: Array<{ type: string; payload: unknown }> = [];
    const unsubscribe = bus.subscribe('berth.*.events.>', (envelope) => void live.push({ type: envelope.type, payload: envelope.payload }));
    await bus.flush();

    const zero = await run('zero', ['true']);
    const three = await run('three', ['sh', '-c', 'exit 3'], 'team-a');
    // No annotation: the CreateTask call's berth-namespace metadata decides.
    const viaMetadata = suite.id('metadata');
    const md = new grpc.Metadata();
    md.set('berth-namespace', 'team-b');
    await call((cb) =>
      clients().runtime.createTask(
        { containerId: viaMetadata, specJson: json(suite.spec(viaMetadata, { cmd: ['sh', '-c', 'exit 11'] })), copyUps: [], rootfsMounts: overlayMounts(suite, viaMetadata), stdio: undefined, privileged: false },
        md,
        cb,
      ),
    );
    await call((cb) => clients().runtime.startTask({ containerId: viaMetadata, execId: '' }, cb));
    const killed = await run('killed', ['sleep', '1000']);
    await call((cb) => clients().runtime.pauseTask({ containerId: killed }, cb));
    await call((cb) => clients().runtime.resumeTask({ containerId: killed }, cb));
    const execProcess = json({ ...suite.spec(killed, { cmd: ['sh'] }).process, args: ['sh', '-c', 'exit 6'] });
    await call((cb) => clients().runtime.execProcess({ containerId: killed, execId: 'e1', processJson: execProcess, stdio: undefined, privileged: false }, cb));
    const execPid = (await call<agent.StartTaskResponse>((cb) => clients().runtime.startTask({ containerId: killed, execId: 'e1' }, cb))).pid;
    expect((await call<agent.WaitTaskResponse>((cb) => clients().runtime.waitTask({ containerId: killed, execId: 'e1' }, cb))).exitStatus?.exitCode).toBe(6);
    await call((cb) => clients().runtime.killTask({ containerId: killed, execId: '', signal: 9, all: false }, cb));
    const missingId = suite.id('missing');
    const missingSpec = suite.spec(missingId, { cmd: ['/no/such/binary'] });
    const err = await callError(
      call((cb) => clients().runtime.createTask({ containerId: missingId, specJson: json(missingSpec), copyUps: [], rootfsMounts: overlayMounts(suite, missingId), stdio: undefined, privileged: false }, cb)),
    );
    expect(err.metadata.get('berth-exit-code')).toEqual(['127']);
    for (const id of [zero, three, killed, viaMetadata]) await wait(id);
    await call((cb) => clients().runtime.deleteTask({ containerId: zero, execId: '', force: false }, cb));

    // Every exit reached the live subscriber too (so would anything published before it)...
    const liveExits = () => live.filter((e) => e.type === 'agent.task.exit').length;
    await eventually(() => (liveExits() >= 6 ? true : undefined), 'the six agent.task.exit events, live');
    unsubscribe();
    // ...and nothing public came from the agent: no created, started, paused, resumed, exit or deleted.
    expect(live.filter((e) => e.type.startsWith('tasks.'))).toEqual([]);
    // Stopping lets queued exits be confirmed; from here on only JetStream can deliver them.
    await stopAgent();

    const seen = await consumeExits('gev-after-stop');
    const ids = [zero, three, killed, `${killed}/e1`, missingId, viaMetadata];
    await eventually(() => (ids.every((id) => seen.has(id)) ? true : undefined), 'a stored agent.task.exit for each container');
    const first = (id: string) => (seen.get(id) as Exit[])[0] as Exit;
    expect(first(zero).payload).toMatchObject({ containerId: zero, execId: '', exitStatus: { exitCode: 0, signal: 0, oomKilled: false } });
    expect(first(zero).payload.pid).toBeGreaterThan(0);
    expect(first(zero).payload.exitStatus?.exitedAt?.seconds).toBeGreaterThan(0);
    expect(first(zero).envelope).toMatchObject({ type: 'agent.task.exit', namespace: 'default', node: NODE, source: 'agent' });
    expect(first(three).payload.exitStatus?.exitCode).toBe(3);
    expect(first(three).envelope.namespace).toBe('team-a');
    expect(first(killed).payload.exitStatus).toMatchObject({ exitCode: 137, signal: 9 });
    expect(first(`${killed}/e1`).payload).toMatchObject({ containerId: killed, execId: 'e1', pid: execPid, exitStatus: { exitCode: 6 } });
    expect(first(missingId).payload.exitStatus?.exitCode).toBe(127);
    expect(first(viaMetadata).payload.exitStatus?.exitCode).toBe(11);
    expect(first(viaMetadata).envelope.namespace).toBe('team-b');

  });

  test('NATS down when a container exits: the agent retries and the exit is stored once NATS is back', async () => {
    await startAgent();
    const id = await run('outage', ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 42']);
    const port = nats.port;
    // The test's own connection comes back fresh after the outage.
    for (const k of consumers.splice(0)) await k.stop();
    await bus?.close();
    bus = undefined;
    await nats.stop();
    const bundle = (await call<agent.GetTaskStateResponse>((cb) => clients().runtime.getTaskState({ containerId: id }, cb))).state!.bundlePath;
    writeFileSync(join(bundle, 'rootfs', 'tmp', 'go'), '');
    // gRPC does not need NATS: the exit is recorded and reported meanwhile.
    expect((await wait(id)).exitStatus?.exitCode).toBe(42);
    nats = await startNats({ storeDir: natsStore, port });
    const seen = await consumeExits('gev-after-outage');
    await eventually(() => seen.get(id), 'the agent.task.exit published after NATS came back', 60_000);
    expect((seen.get(id) as Exit[])[0]?.payload.exitStatus?.exitCode).toBe(42);
    // It was published by the retry loop, not by luck of timing.
    expect(agentLogs?.lines.some((l) => l.includes('publishing agent.task.exit failed; retrying') && l.includes(id))).toBe(true);
    await call((cb) => clients().runtime.deleteTask({ containerId: id, execId: '', force: false }, cb));
    await stopAgent();
  });
});

describe('heartbeats', () => {
  test('one at start, then every interval, with capacity, running count and the agent address', async () => {
    bus ??= await testBus(nats.url, 'gev');
    const beats: events.NodeHeartbeat[] = [];
    const envelopeTypes = new Set<string>();
    const unsubscribe = bus.subscribe(heartbeatSubject(NODE), (envelope) => {
      envelopeTypes.add(envelope.type);
      beats.push(eventPayloads['nodes.heartbeat'].fromJSON(envelope.payload));
    });
    await bus.flush();
    await startAgent(200);
    await eventually(() => (beats.length >= 2 ? true : undefined), 'two heartbeats');
    expect([...envelopeTypes]).toEqual(['nodes.heartbeat']);
    const beat = beats[0] as events.NodeHeartbeat;
    expect(beat.nodeId).toBe(NODE);
    expect(beat.agentAddress).toBe(`unix:${join(suite.root, 'run', 'agent.sock')}`);
    expect(beat.intervalSeconds).toBe(1);
    expect(beat.capacity?.cpus).toBeGreaterThan(0);
    expect(beat.capacity?.memoryBytes).toBeGreaterThan(0);
    expect(beat.capacity?.pids).toBeGreaterThan(0);
    expect(beat.versions.runc).toMatch(/^\d/);
    expect(beat.versions.agent).toBe('0.1.0');
    expect(beat.runningContainers).toBe(0);
    const id = await run('beating', ['sleep', '1000']);
    await eventually(() => (beats.at(-1)?.runningContainers === 1 ? true : undefined), 'a heartbeat counting the running container');
    unsubscribe();
    await call((cb) => clients().runtime.deleteTask({ containerId: id, execId: '', force: true }, cb));
    await stopAgent();
  });
});

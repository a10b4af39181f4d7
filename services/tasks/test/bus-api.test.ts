// The bus API against a real nats-server: request/reply on the node and
// service subjects, errors as codes, namespaces; and durable exit events
// deduplicated by id in JetStream; the agents' exit reports consumed durably.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tasks } from '@berth/api';
import { connectBus, type Bus, BusRequestError, nodeRpcSubject, serviceRpcSubject, eventSubject } from '@berth/bus';
import { createLogger } from '@berth/telemetry';
import { startNats, type TestNats } from '../../../packages/testkit/src/nats.js';
import { BusEventSink } from '../src/adapters/bus-events.js';
import { applyAgentExit, consumeAgentExits } from '../src/bus-api/agent-exits.js';
import { serveBusApi } from '../src/bus-api/serve.js';
import { eventually, Harness } from './fakes.js';

let nats: TestNats;
let server: Bus;
let client: Bus;
let h: Harness;
let stopServing: () => void;

beforeAll(async () => {
  nats = await startNats();
  const logger = createLogger({ service: 'test', node: 'node-1', level: 'silent' });
  server = await connectBus({ servers: nats.url, service: 'tasks', node: 'node-1', logger });
  client = await connectBus({ servers: nats.url, service: 'orchestrator', node: 'control-1', logger });
});

afterAll(async () => {
  stopServing?.();
  await h?.close();
  await client?.close();
  await server?.close();
  await nats?.stop();
});

beforeEach(async () => {
  stopServing?.();
  await h?.close();
  h = new Harness();
  await h.engine.start();
  stopServing = serveBusApi(server, h.engine, 'node-1');
  await server.flush();
});

const node = (verb: string) => nodeRpcSubject('node-1', verb);
const service = (verb: string) => serviceRpcSubject('tasks', verb);

async function failure(p: Promise<unknown>): Promise<BusRequestError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BusRequestError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

describe('bus API', () => {
  it('runs, lists, stops and removes a container over the bus', async () => {
    const run = await client.request<{ container: unknown }>(node('containers.run'), {
      name: 'web',
      spec: { image: 'busybox', cmd: { args: ['sleep', '1000'] }, labels: { app: 'web' } },
    });
    const container = tasks.Container.fromJSON(run.container);
    expect(container.name).toBe('web');
    expect(container.status?.state).toBe(tasks.ContainerState.RUNNING);
    expect(container.spec?.cmd?.args).toEqual(['sleep', '1000']);

    const list = await client.request<{ containers: unknown[] }>(service('containers.list'), { filters: ['label=app=web'] });
    expect(list.containers.map((c) => tasks.Container.fromJSON(c).id)).toEqual([container.id]);

    const stop = await client.request<{ exitStatus?: unknown }>(node('containers.stop'), { id: 'web', timeoutSeconds: 5 });
    expect(stop.exitStatus).toMatchObject({ exitCode: 143 });

    const removed = await client.request<{ container: unknown }>(service('containers.remove'), { id: container.id.slice(0, 12) });
    expect(tasks.Container.fromJSON(removed.container).id).toBe(container.id);
    expect((await failure(client.request(node('containers.get'), { id: 'web' }))).code).toBe('NOT_FOUND');
  });

  it('creates, lists, removes and prunes volumes over the bus, per namespace', async () => {
    const created = await client.request<{ volume: unknown }>(node('volumes.create'), { name: 'cache', labels: { app: 'web' }, namespace: 'ns1' });
    expect(tasks.Volume.fromJSON(created.volume)).toMatchObject({ name: 'cache', labels: { app: 'web' }, driver: 'local' });
    const list = await client.request<{ volumes: unknown[] }>(service('volumes.list'), { filters: ['label=app'], namespace: 'ns1' });
    expect(list.volumes.map((v) => tasks.Volume.fromJSON(v).name)).toEqual(['cache']);
    expect((await failure(client.request(node('volumes.get'), { name: 'cache' }))).code).toBe('NOT_FOUND');
    await client.request(node('containers.run'), { name: 'user', namespace: 'ns1', spec: { image: 'busybox', mounts: [{ type: 'volume', source: 'cache', target: '/c' }] } });
    const inUse = await failure(client.request(node('volumes.remove'), { name: 'cache', namespace: 'ns1' }));
    expect(inUse.code).toBe('FAILED_PRECONDITION');
    await client.request(node('containers.remove'), { id: 'user', force: true, namespace: 'ns1' });
    const pruned = tasks.PruneVolumesResponse.fromJSON(await client.request(service('volumes.prune'), { all: true, namespace: 'ns1' }));
    expect(pruned).toEqual({ removed: ['cache'], reclaimedBytes: 0 });
  });

  it('kills, and answers bad input with INVALID_ARGUMENT', async () => {
    await client.request(node('containers.run'), { name: 'k1', spec: { image: 'busybox' } });
    const bad = await failure(client.request(node('containers.kill'), { id: 'k1', signal: 'SIGWHAT' }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.message).toContain('SIGWHAT');
    expect(await client.request(node('containers.kill'), { id: 'k1', signal: 'KILL' })).toEqual({});
    expect((await failure(client.request(node('containers.stop'), { timeoutSeconds: 1 }))).message).toContain('id: missing');
    expect((await failure(client.request(node('containers.kill'), { id: 5 }))).code).toBe('INVALID_ARGUMENT');
  });

  it('reports an unknown image as NOT_FOUND and a duplicate name as ALREADY_EXISTS', async () => {
    expect((await failure(client.request(node('containers.run'), { spec: { image: 'nope' } }))).code).toBe('NOT_FOUND');
    await client.request(node('containers.run'), { name: 'dup', spec: { image: 'busybox' } });
    const dup = await failure(client.request(node('containers.run'), { name: 'dup', spec: { image: 'busybox' } }));
    expect(dup.code).toBe('ALREADY_EXISTS');
  });

  it('keeps namespaces apart, by field or by header', async () => {
    await client.request(node('containers.run'), { namespace: 'team-a', name: 'svc', spec: { image: 'busybox' } });
    const a = await client.request<{ containers: unknown[] }>(node('containers.list'), { namespace: 'team-a' });
    const def = await client.request<{ containers: unknown[] }>(node('containers.list'), {});
    expect(a.containers).toHaveLength(1);
    expect(def.containers).toHaveLength(0);
    const { headers } = await import('nats');
    const hdrs = headers();
    hdrs.set('berth-namespace', 'team-a');
    const reply = await client.connection.request(node('containers.get'), new TextEncoder().encode(JSON.stringify({ id: 'svc' })), {
      headers: hdrs,
      timeout: 5000,
    });
    const body = JSON.parse(new TextDecoder().decode(reply.data)) as { result?: { container: { name: string } } };
    expect(body.result?.container.name).toBe('svc');
    expect((await failure(client.request(node('containers.list'), { namespace: 'bad.ns' }))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('BusEventSink', () => {
  it('stores a durable event once however often it is published with the same id', async () => {
    const sink = new BusEventSink(server);
    const id = 'e'.repeat(64);
    const payload = { containerId: 'c'.repeat(64), execId: '', pid: 1, exitStatus: { exitCode: 3 } };
    await sink.publish('sinktest', 'tasks.exit', payload, { durable: true, id });
    await sink.publish('sinktest', 'tasks.exit', payload, { durable: true, id });
    const seen: unknown[] = [];
    const consumer = await client.consume('sinktest-reader', eventSubject('sinktest', 'tasks.exit'), (envelope) => {
      seen.push(envelope);
    });
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    await consumer.stop();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id, type: 'tasks.exit', source: 'tasks', namespace: 'sinktest', payload });
  });
});

describe('agent exit reports', () => {
  it('records an exit the agent reported while nobody consumed, ignoring another node\'s report, and publishes tasks.exit itself', async () => {
    const logger = createLogger({ service: 'test', node: 'node-1', level: 'silent' });
    const agentBus = await connectBus({ servers: nats.url, service: 'agent', node: 'node-1', logger });
    const otherAgent = await connectBus({ servers: nats.url, service: 'agent', node: 'node-2', logger });
    try {
      const c = await h.engine.containers.create('default', { id: '', name: 'reported', spec: tasks.ContainerSpec.fromPartial({ image: 'busybox' }) });
      await h.engine.tasks.startTask('default', 'reported', '');
      const startedAt = h.engine.runtime.store.get(c.id)!.startedAt!;
      const report = (code: number) => ({
        containerId: c.id,
        execId: '',
        pid: 42,
        exitStatus: { exitCode: code, signal: 0, oomKilled: false, exitedAt: new Date(startedAt + 1000).toISOString() },
      });
      // Stored by JetStream before the consumer exists, as while the tasks service was down.
      await otherAgent.publish('default', 'agent.task.exit', report(9), { durable: true });
      await agentBus.publish('default', 'agent.task.exit', report(4), { durable: true });
      const consumer = await consumeAgentExits(server, h.engine.runtime, 'node-1');
      try {
        await eventually(() => h.engine.runtime.store.get(c.id)?.exit, 'the reported exit recorded');
        expect(h.engine.runtime.store.get(c.id)).toMatchObject({ phase: 'stopped', exit: { exitCode: 4 } });
        await h.engine.runtime.flushOutbox();
        const exits = h.events.ofType('tasks.exit');
        expect(exits).toHaveLength(1);
        expect(exits[0]?.payload).toMatchObject({ containerId: c.id, exitStatus: { exitCode: 4, exitedAt: new Date(startedAt + 1000).toISOString() } });
      } finally {
        await consumer.stop();
      }
    } finally {
      await agentBus.close();
      await otherAgent.close();
    }
  });

  it('a report that overtakes the StartTask answer is recorded after the start, not overwritten by it', async () => {
    const c = await h.engine.containers.create('default', { id: '', name: 'quick', spec: tasks.ContainerSpec.fromPartial({ image: 'busybox' }) });
    // The agent has started the process but its answer is still on the way.
    const answer = h.agent.script.pauseAfterNext('startTask');
    const starting = h.engine.tasks.startTask('default', 'quick', '');
    await eventually(() => h.agent.tasks.get(c.id)?.status === 'running', 'the agent to start the task');
    const exitedAt = { seconds: Math.floor(Date.now() / 1000) + 1, nanos: 0 };
    const recording = applyAgentExit(h.engine.runtime, 'node-1', {
      containerId: c.id,
      execId: '',
      pid: 1000,
      exitStatus: { exitCode: 3, signal: 0, oomKilled: false, exitedAt },
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(h.engine.runtime.store.get(c.id)?.exit).toBeUndefined();
    answer();
    await starting;
    await expect(recording).resolves.toBe('recorded');
    expect(h.engine.runtime.store.get(c.id)).toMatchObject({ phase: 'stopped', exit: { exitCode: 3 } });
    const waited = await h.engine.tasks.waitTask('default', 'quick', '');
    expect(waited.exitCode).toBe(3);
  });
});

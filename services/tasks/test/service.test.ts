// The whole service process as main.ts starts it (service kit, real NATS),
// with no neighbours running: it must start, serve its APIs, take
// heartbeats, answer over the bus, and say clearly which neighbour is down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, tasks } from '@berth/api';
import { connectBus, encodeEnvelope, heartbeatSubject, makeEnvelope, nodeRpcSubject, type Bus } from '@berth/bus';
import { createClient, startService, type RunningService } from '@berth/service-kit';
import { createLogger } from '@berth/telemetry';
import { startNats, type TestNats } from '../../../packages/testkit/src/nats.js';
import { tasksConfigSchema, type TasksConfig } from '../src/config.js';
import { setupTasksService } from '../src/service.js';

let nats: TestNats;
let dir: string;
let service: RunningService<TasksConfig>;
let orchestrator: Bus;
let containers: tasks.ContainersClient;
let nodes: tasks.NodesClient;

beforeAll(async () => {
  nats = await startNats();
  dir = mkdtempSync(join(tmpdir(), 'berth-tasks-service-'));
  service = await startService(
    { name: 'tasks', version: '0.0.0-test', configSchema: tasksConfigSchema, setup: setupTasksService },
    {
      argv: [],
      env: {
        BERTH_ROOT: join(dir, 'root'),
        BERTH_RUNTIME_DIR: join(dir, 'run'),
        BERTH_NATS_URL: nats.url,
        BERTH_NODE: 'svc-node',
        BERTH_LOG_LEVEL: 'silent',
        BERTH_TASKS_HEARTBEAT_INTERVAL_SECONDS: '1',
        BERTH_TASKS_CALL_TIMEOUT_MS: '2000',
      },
    },
  );
  orchestrator = await connectBus({
    servers: nats.url,
    service: 'orchestrator',
    node: 'control',
    logger: createLogger({ service: 'orchestrator', node: 'control', level: 'silent' }),
  });
  containers = createClient(tasks.ContainersClient, service.ctx.paths.socket);
  nodes = createClient(tasks.NodesClient, service.ctx.paths.socket);
});

afterAll(async () => {
  containers?.close();
  nodes?.close();
  await orchestrator?.close();
  await service?.stop();
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function unary<Req, Res>(
  fn: (r: Req, m: grpc.Metadata, o: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, new grpc.Metadata(), {}, (e, res) => (e ? reject(e) : resolve(res))));
}

describe('the tasks service process', () => {
  it('serves Containers and says which neighbour is unavailable', async () => {
    expect((await unary(containers.listContainers.bind(containers), { filters: [] })).containers).toEqual([]);
    const err = await unary(containers.createContainer.bind(containers), tasks.CreateContainerRequest.fromPartial({ name: 'web', spec: { image: 'busybox' } })).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(err?.details).toContain('images service');
    expect(err?.details).toContain(join(dir, 'run', 'images.sock'));
  });

  it('registers nodes from heartbeats and marks them unavailable when they fall silent', async () => {
    const beat = (n: number) =>
      orchestrator.connection.publish(
        heartbeatSubject('worker-7'),
        encodeEnvelope(
          makeEnvelope({
            namespace: 'default',
            type: 'nodes.heartbeat',
            source: 'agent',
            node: 'worker-7',
            payload: events.NodeHeartbeat.toJSON(
              events.NodeHeartbeat.fromPartial({ nodeId: 'worker-7', hostname: 'w7', runningContainers: n, intervalSeconds: 1, agentAddress: '127.0.0.1:7410' }),
            ),
          }),
        ),
      );
    beat(3);
    let node: tasks.Node | undefined;
    for (let i = 0; i < 100 && !node; i++) {
      node = (await unary(nodes.listNodes.bind(nodes), { filters: ['id=worker-7'] })).nodes[0];
      if (!node) await new Promise((r) => setTimeout(r, 20));
    }
    expect(node).toMatchObject({ id: 'worker-7', hostname: 'w7', runningContainers: 3, state: tasks.NodeState.READY, agentAddress: '127.0.0.1:7410' });
    let state = node?.state;
    for (let i = 0; i < 100 && state !== tasks.NodeState.UNAVAILABLE; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await unary(nodes.getNode.bind(nodes), { id: 'worker-7' })).node?.state;
    }
    expect(state).toBe(tasks.NodeState.UNAVAILABLE);
  });

  it('answers on its node subject over the bus', async () => {
    const list = await orchestrator.request<{ containers: unknown[] }>(nodeRpcSubject('svc-node', 'containers.list'), {});
    expect(list.containers).toEqual([]);
  });
});

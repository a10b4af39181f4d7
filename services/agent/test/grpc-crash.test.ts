// SIGKILL the agent process while containers run: they keep running; a new
// agent on the same state root re-adopts them over gRPC, and publishes the
// real exit codes, both of a container that exited while no agent ran and of
// one that exits after the restart.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agent, eventPayloads, type events } from '@berth/api';
import type { Bus, DurableConsumer } from '@berth/bus';
import { startNats, type TestNats } from '@berth/testkit';
import type { RunningService } from '@berth/service-kit';
import type { AgentConfig } from '../src/config.js';
import { call, clientsFor, json, overlayMounts, spawnAgent, startAgentInProcess, testBus, type Clients } from './helpers/agent.js';
import { createSuite, destroySuite, eventually, isAlive, runcState, type Suite } from './helpers/suite.js';

const NODE = 'gcr-node';
let suite: Suite;
let nats: TestNats;
let child: ChildProcess | undefined;
let service: RunningService<AgentConfig> | undefined;
let bus: Bus | undefined;
let consumer: DurableConsumer | undefined;
const openClients: Clients[] = [];

beforeAll(async () => {
  suite = createSuite('gcr', { stateDir: 'agent' });
  nats = await startNats();
});

afterAll(async () => {
  for (const cl of openClients) cl.close();
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await consumer?.stop().catch(() => undefined);
  await bus?.close().catch(() => undefined);
  await service?.stop().catch(() => undefined);
  await destroySuite(suite);
  await nats?.stop();
});

/** Waits for /tmp/go inside the container, then exits with `code`. */
function waitThenExit(code: number): string[] {
  return ['sh', '-c', `while [ ! -e /tmp/go ]; do sleep 0.1; done; echo bye; exit ${code}`];
}

async function runIn(c: Clients, name: string, args: string[]): Promise<{ id: string; pid: number; bundle: string }> {
  const id = suite.id(name);
  const created = await call<agent.CreateTaskResponse>((cb) =>
    c.runtime.createTask({ containerId: id, specJson: json(suite.spec(id, { cmd: args })), copyUps: [], rootfsMounts: overlayMounts(suite, id), stdio: undefined, privileged: false }, cb),
  );
  const { pid } = await call<agent.StartTaskResponse>((cb) => c.runtime.startTask({ containerId: id, execId: '' }, cb));
  return { id, pid, bundle: created.bundlePath };
}

const release = (bundle: string) => writeFileSync(join(bundle, 'rootfs', 'tmp', 'go'), '');

describe('agent SIGKILLed while containers run', () => {
  test('containers keep running; the next agent re-adopts them and publishes their real exit codes', async () => {
    const first = await spawnAgent({ suite, natsUrl: nats.url, node: NODE });
    child = first.child;
    const before = clientsFor(suite);
    openClients.push(before);
    const survivor = await runIn(before, 'survivor', waitThenExit(7));
    const orphan = await runIn(before, 'orphan', waitThenExit(5));
    before.close();

    child.kill('SIGKILL');
    await new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    expect(child.signalCode).toBe('SIGKILL');
    // The containers did not notice.
    expect(isAlive(survivor.pid)).toBe(true);
    expect(runcState(suite, survivor.id)).toBe('running');
    expect(runcState(suite, orphan.id)).toBe('running');

    // One exits while no agent is running.
    release(orphan.bundle);
    await eventually(() => (runcState(suite, orphan.id) === 'stopped' || runcState(suite, orphan.id) === undefined ? true : undefined), 'the orphan to exit');

    ({ service } = await startAgentInProcess({ suite, natsUrl: nats.url, node: NODE }));
    const after = clientsFor(suite);
    openClients.push(after);
    const survivorState = (await call<agent.GetTaskStateResponse>((cb) => after.runtime.getTaskState({ containerId: survivor.id }, cb))).state;
    expect(survivorState).toMatchObject({ status: agent.TaskStatus.RUNNING, pid: survivor.pid });
    const orphanState = (await call<agent.GetTaskStateResponse>((cb) => after.runtime.getTaskState({ containerId: orphan.id }, cb))).state;
    expect(orphanState).toMatchObject({ status: agent.TaskStatus.STOPPED, exitStatus: { exitCode: 5 } });

    release(survivor.bundle);
    expect((await call<agent.WaitTaskResponse>((cb) => after.runtime.waitTask({ containerId: survivor.id, execId: '' }, cb))).exitStatus?.exitCode).toBe(7);

    // Both exits are on the bus, with their real codes.
    bus = await testBus(nats.url, 'gcr');
    const exits = new Map<string, events.TaskExit>();
    consumer = await bus.consume('gcr-exits', 'berth.*.events.agent.task.exit', (envelope) => {
      const payload = eventPayloads['tasks.exit'].fromJSON(envelope.payload);
      exits.set(payload.containerId, payload);
    });
    await eventually(() => (exits.has(survivor.id) && exits.has(orphan.id) ? true : undefined), 'agent.task.exit for both containers');
    expect(exits.get(orphan.id)).toMatchObject({ pid: orphan.pid, exitStatus: { exitCode: 5, signal: 0 } });
    expect(exits.get(survivor.id)).toMatchObject({ pid: survivor.pid, exitStatus: { exitCode: 7, signal: 0 } });

    for (const id of [survivor.id, orphan.id]) {
      expect((await call<agent.DeleteTaskResponse>((cb) => after.runtime.deleteTask({ containerId: id, execId: '', force: false }, cb))).exitStatus).toBeDefined();
    }
  });
});

// A NATS restart: the bus reconnects by itself, logs it, and a durable
// consumer picks up events stored after the restart (JetStream on disk).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, eventSubject, type Bus, type EventEnvelope } from '../src/index.js';
import { captureLogger, startNats, waitFor, type TestNats } from './helpers.js';

let storeDir: string;
let nats: TestNats | undefined;
let bus: Bus | undefined;
const log = captureLogger('tasks', 'node-1');

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'berth-bus-js-'));
  nats = await startNats({ storeDir });
});
afterAll(async () => {
  await bus?.close();
  await nats?.stop();
  await rm(storeDir, { recursive: true, force: true });
});

describe('NATS restart', () => {
  it('reconnects, logs it, and keeps consuming durable events', async () => {
    bus = await connectBus({ servers: nats!.url, service: 'tasks', node: 'node-1', reconnectTimeWaitMs: 100, logger: log.logger });
    const subject = eventSubject('default', 'tasks.exit');
    const received: EventEnvelope<unknown>[] = [];
    const consumer = await bus.consume('restart-exits', subject, (env) => {
      received.push(env);
    });
    const before = await bus.publish('default', 'tasks.exit', { n: 1 }, { durable: true });
    await waitFor('the first event', () => (received.length === 1 ? true : undefined));

    const port = nats!.port;
    await nats!.stop();
    await waitFor('the disconnect log line', () => log.entries().find((e) => e.msg === 'disconnected from NATS; reconnecting'));
    nats = await startNats({ storeDir, port });
    await waitFor('the reconnect log line', () => log.entries().find((e) => e.msg === 'reconnected to NATS'));

    const after = await bus.publish('default', 'tasks.exit', { n: 2 }, { durable: true });
    await waitFor('the event published after the restart', () => (received.length >= 2 ? true : undefined), 60_000);
    expect(received.map((e) => e.id)).toEqual([before.id, after.id]);
    await consumer.stop();
  });
});

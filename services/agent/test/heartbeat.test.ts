// The heartbeat keeps beating while counting the running containers is slow
// (runc list under a burst of starts): a beat waits for the count only
// briefly and then carries the last one.
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnvelope, type Bus } from '@berth/bus';
import { startHeartbeat, type Heartbeat, type HeartbeatFacts } from '../src/events/heartbeat.js';

const published: { subject: string; running: number }[] = [];
const subscriptions = new Map<string, () => void>();
const bus = {
  service: 'agent',
  connection: {
    subscribe: (subject: string, o: { callback: () => void }) => {
      subscriptions.set(subject, o.callback);
      return { unsubscribe: () => subscriptions.delete(subject) };
    },
    publish: (subject: string, data: Uint8Array) => {
      const payload = parseEnvelope(data).payload as { runningContainers?: number };
      published.push({ subject, running: payload.runningContainers ?? 0 });
    },
  },
} as unknown as Pick<Bus, 'connection' | 'service'>;

let heartbeat: Heartbeat | undefined;

/** A node's facts; beats are only published by hand (the interval is an hour). */
const facts = (nodeId: string, runningContainers: () => Promise<number>): HeartbeatFacts => ({
  nodeId,
  hostname: 'h',
  namespace: 'default',
  agentAddress: 'unix:/x.sock',
  intervalMs: 3_600_000,
  versions: {},
  capacity: { cpus: 2, memoryBytes: 1 } as never,
  runningContainers,
});
afterEach(() => {
  heartbeat?.stop();
  published.length = 0;
});

describe('heartbeat', () => {
  it('beats with the last count while a count hangs, and takes up a fresh count once one answers', async () => {
    const counts: (() => Promise<number>)[] = [
      async () => 3,
      () => new Promise<number>(() => undefined), // runc list that never answers
    ];
    let calls = 0;
    const warnings: string[] = [];
    heartbeat = startHeartbeat(bus, facts('n1', () => (counts[calls++] ?? (async () => 7))()), { warn: (_o, msg) => warnings.push(msg) });
    await new Promise((r) => setTimeout(r, 50));
    expect(published).toEqual([{ subject: 'berth.node.n1.heartbeat', running: 3 }]);
    // The count now hangs: beats still go out, with the last count, and do not start a second count.
    await heartbeat.beat();
    await heartbeat.beat();
    expect(published.map((p) => p.running)).toEqual([3, 3, 3]);
    expect(calls).toBe(2);
    expect(warnings).toEqual([]);
  });

  it('a failing count is logged and the beat still goes out', async () => {
    const warnings: string[] = [];
    heartbeat = startHeartbeat(bus, facts('n2', () => Promise.reject(new Error('runc list failed'))), { warn: (_o, msg) => warnings.push(msg) });
    await heartbeat.beat();
    expect(published.length).toBeGreaterThanOrEqual(1);
    expect(published.every((p) => p.subject === 'berth.node.n2.heartbeat' && p.running === 0)).toBe(true);
    expect(warnings[0]).toMatch(/cannot count the running containers/);
  });

  it('beats at once when asked (a tasks service that just started), and stops listening when stopped', async () => {
    heartbeat = startHeartbeat(bus, facts('n3', async () => 1), { warn: () => undefined });
    await new Promise((r) => setTimeout(r, 20));
    expect(published).toHaveLength(1);
    subscriptions.get('berth.nodes.heartbeat-request')!();
    await new Promise((r) => setTimeout(r, 20));
    expect(published).toEqual([
      { subject: 'berth.node.n3.heartbeat', running: 1 },
      { subject: 'berth.node.n3.heartbeat', running: 1 },
    ]);
    heartbeat.stop();
    expect(subscriptions.has('berth.nodes.heartbeat-request')).toBe(false);
  });
});

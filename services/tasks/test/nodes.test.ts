// The node registry: registration, heartbeats, unavailability after silence.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { events, tasks } from '@berth/api';
import type { Store } from '@berth/store';
import { NodeRegistry, nodeMessage, type NodeChange } from '../src/nodes/registry.js';
import { openTasksStore } from '../src/store/schema.js';

let db: Store;
let now = 1_000_000;
let changes: [string, NodeChange][];
let registry: NodeRegistry;

const hb = (nodeId: string, more: Partial<events.NodeHeartbeat> = {}) =>
  events.NodeHeartbeat.fromPartial({ nodeId, hostname: nodeId, runningContainers: 2, intervalSeconds: 5, agentAddress: `unix:///run/${nodeId}.sock`, capacity: { cpus: 2, memoryBytes: 1 << 30, pids: 4096 }, ...more });

beforeEach(() => {
  db = openTasksStore(':memory:');
  changes = [];
  registry = new NodeRegistry(db, { defaultIntervalSeconds: 5, missedBeats: 3, now: () => now, onChange: (n, c) => changes.push([n.id, c]) });
});
afterEach(() => db.close());

describe('NodeRegistry', () => {
  it('registers a node on its first heartbeat and keeps its registration time', () => {
    registry.heartbeat(hb('n1'));
    now += 5000;
    registry.heartbeat(hb('n1', { runningContainers: 3 }));
    const node = registry.require('n1');
    expect(node.registeredAt).toBe(1_000_000);
    expect(node.lastHeartbeatAt).toBe(1_005_000);
    expect(node.runningContainers).toBe(3);
    expect(changes).toEqual([['n1', 'registered']]);
    const msg = nodeMessage(node);
    expect(msg.state).toBe(tasks.NodeState.READY);
    expect(msg.agentAddress).toBe('unix:///run/n1.sock');
  });

  it('marks a node unavailable after three silent intervals, and ready again on its next heartbeat', () => {
    registry.heartbeat(hb('n1'));
    registry.heartbeat(hb('n2', { intervalSeconds: 60 }));
    now += 15_000;
    expect(registry.sweep()).toEqual([]);
    now += 1;
    expect(registry.sweep().map((n) => n.id)).toEqual(['n1']);
    expect(registry.isAvailable('n1')).toBe(false);
    expect(registry.isAvailable('n2')).toBe(true);
    expect(registry.isAvailable('never-seen')).toBe(true);
    expect(registry.sweep()).toEqual([]);
    registry.heartbeat(hb('n1'));
    expect(registry.isAvailable('n1')).toBe(true);
    expect(changes).toEqual([
      ['n1', 'registered'],
      ['n2', 'registered'],
      ['n1', 'unavailable'],
      ['n1', 'ready'],
    ]);
  });

  it('lists with filters and refuses unknown keys or bad ids', () => {
    registry.heartbeat(hb('a'));
    registry.heartbeat(hb('b'));
    now += 60_000;
    registry.heartbeat(hb('b'));
    registry.sweep();
    expect(registry.list([]).map((n) => n.id)).toEqual(['a', 'b']);
    expect(registry.list(['state=unavailable']).map((n) => n.id)).toEqual(['a']);
    expect(registry.list(['id=a', 'id=b'])).toHaveLength(2);
    expect(() => registry.list(['zone=x'])).toThrow(/unknown key/);
    expect(() => registry.list(['state=sleepy'])).toThrow(/ready or unavailable/);
    expect(() => registry.heartbeat(hb('bad.id'))).toThrow(/invalid node id/);
    expect(() => registry.require('zzz')).toThrow(expect.objectContaining({ code: 5 }));
  });
});

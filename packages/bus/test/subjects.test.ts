import { describe, expect, it } from 'vitest';
import {
  eventPattern,
  eventSubject,
  heartbeatSubject,
  HEARTBEAT_PATTERN,
  nodeRpcSubject,
  serviceRpcSubject,
  SubjectError,
} from '../src/index.js';

describe('subjects', () => {
  it('builds each family of subject', () => {
    expect(eventSubject('default', 'tasks.exit')).toBe('berth.default.events.tasks.exit');
    expect(eventSubject('k8s_io', 'images.created')).toBe('berth.k8s_io.events.images.created');
    expect(nodeRpcSubject('worker-1', 'containers.run')).toBe('berth.node.worker-1.rpc.containers.run');
    expect(serviceRpcSubject('tasks', 'list')).toBe('berth.rpc.tasks.list');
    expect(heartbeatSubject('worker-1')).toBe('berth.node.worker-1.heartbeat');
    expect(HEARTBEAT_PATTERN).toBe('berth.node.*.heartbeat');
  });

  it('builds subscription patterns', () => {
    expect(eventPattern()).toBe('berth.*.events.>');
    expect(eventPattern('default')).toBe('berth.default.events.>');
    expect(eventPattern('*', 'tasks.*')).toBe('berth.*.events.tasks.*');
    expect(eventPattern('default', 'tasks.>')).toBe('berth.default.events.tasks.>');
    expect(() => eventPattern('default', '>.exit')).toThrow(SubjectError);
    expect(() => eventPattern('default', 'tasks..exit')).toThrow(/empty segment/);
  });

  it.each([
    ['a.b', /namespace "a.b" contains '.' at position 1/],
    ['all*', /namespace "all\*" contains '\*'/],
    ['x>', /contains '>'/],
    ['has space', /whitespace or control character \(U\+0020\)/],
    ['tab\there', /U\+0009/],
    ['', /namespace must be a non-empty string/],
    ['node', /namespace "node" is reserved/],
    ['rpc', /namespace "rpc" is reserved/],
    ['x'.repeat(200), /is 200 characters long \(at most 128\)/],
  ])('rejects namespace %j', (namespace, message) => {
    expect(() => eventSubject(namespace, 'tasks.exit')).toThrow(message);
  });

  it('rejects bad types, verbs, nodes and services with the offending input', () => {
    expect(() => eventSubject('default', 'tasks..exit')).toThrow(/event type "tasks..exit" has an empty segment/);
    expect(() => eventSubject('default', '.exit')).toThrow(/empty segment/);
    expect(() => eventSubject('default', 'tasks.*')).toThrow(/segment "\*" contains '\*'/);
    expect(() => nodeRpcSubject('host.example.com', 'run')).toThrow(/node id "host.example.com" contains '.'/);
    expect(() => nodeRpcSubject('events', 'run')).toThrow(/node id "events" is reserved/);
    expect(() => heartbeatSubject('')).toThrow(/node id must be a non-empty string/);
    expect(() => serviceRpcSubject('events', 'run')).toThrow(/service name "events" is reserved/);
    expect(() => serviceRpcSubject('tasks', 'run now')).toThrow(/verb "run now": segment "run now" contains a whitespace/);
  });
});

import { describe, expect, it } from 'vitest';
import { eventActor, eventMatches, eventObject, formatEvent, type EventView } from '../src/format/events.js';
import { parseFilters } from '../src/parse/filters.js';
import { EVENT_FILTER_KEYS } from '../src/format/events.js';

const CID = 'a'.repeat(64);
const ev = (type: string, payload: unknown, node = 'n1'): EventView => ({
  type,
  payload,
  node,
  source: type.split('.')[0]!,
  namespace: 'default',
  time: '2024-05-01T10:00:00.000Z',
});

const exit = ev('tasks.exit', { containerId: CID, execId: '', pid: 42, exitStatus: { exitCode: 3, signal: 0 } });
const created = ev('containers.created', { id: CID, name: 'web', image: 'docker.io/library/busybox:latest' });
const pulled = ev('images.pull.finished', { reference: 'busybox', name: 'docker.io/library/busybox:latest', target: { digest: 'sha256:abc' } });
const net = ev('networks.created', { id: 'b'.repeat(64), name: 'appnet', driver: 'bridge', subnet: '10.89.0.0/24' });

describe('event lines', () => {
  it('name the object and its attributes', () => {
    expect(formatEvent(exit)).toBe(`2024-05-01T10:00:00.000Z tasks.exit ${CID} (pid=42, exitCode=3, node=n1)`);
    expect(formatEvent(created)).toBe(`2024-05-01T10:00:00.000Z containers.created ${CID} (name=web, image=docker.io/library/busybox:latest, node=n1)`);
    expect(eventActor(pulled)).toEqual({ id: 'docker.io/library/busybox:latest', attributes: { reference: 'busybox', digest: 'sha256:abc' } });
    expect(eventActor(net).id).toBe('appnet');
  });
  it('JSON objects carry the payload', () => {
    expect(eventObject(exit)).toMatchObject({ Type: 'tasks.exit', ID: CID, Node: 'n1', Namespace: 'default', Payload: exit.payload });
  });
});

describe('event filters', () => {
  const f = (...values: string[]) => parseFilters(values, EVENT_FILTER_KEYS);
  it('type takes Docker object types, event types and globs', () => {
    expect(eventMatches(exit, f('type=container'))).toBe(true);
    expect(eventMatches(created, f('type=container'))).toBe(true);
    expect(eventMatches(pulled, f('type=container'))).toBe(false);
    expect(eventMatches(pulled, f('type=image'))).toBe(true);
    expect(eventMatches(pulled, f('type=images.pull.*'))).toBe(true);
    expect(eventMatches(exit, f('type=tasks'))).toBe(true);
  });
  it('event matches the action or the full type', () => {
    expect(eventMatches(exit, f('event=exit'))).toBe(true);
    expect(eventMatches(exit, f('event=tasks.exit'))).toBe(true);
    expect(eventMatches(created, f('event=exit'))).toBe(false);
  });
  it('container by id prefix or name', () => {
    expect(eventMatches(exit, f('container=aaaa'))).toBe(true);
    expect(eventMatches(created, f('container=web'))).toBe(true);
    expect(eventMatches(pulled, f('container=aaaa'))).toBe(false);
  });
  it('same key: any; different keys: all', () => {
    expect(eventMatches(exit, f('event=start', 'event=exit'))).toBe(true);
    expect(eventMatches(exit, f('event=exit', 'node=n2'))).toBe(false);
    expect(eventMatches(exit, f('event=exit', 'node=n1'))).toBe(true);
  });
});

// Timestamps, the event registry and service naming.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dateFromTimestamp,
  eventPayloads,
  events,
  isEventType,
  nanosFromTimestamp,
  serviceNameOf,
  tasks,
  timestampFromDate,
  timestampFromNanos,
} from '../src/index.js';
import { protoDir } from './paths.js';

describe('timestamps', () => {
  it('convert Dates both ways at millisecond precision', () => {
    const date = new Date('2024-05-06T07:08:09.123Z');
    expect(timestampFromDate(date)).toEqual({ seconds: 1714979289, nanos: 123_000_000 });
    expect(dateFromTimestamp(timestampFromDate(date)).toISOString()).toBe(date.toISOString());
  });

  it('keep nanoseconds, also before the epoch', () => {
    expect(timestampFromNanos(1_714_979_289_123_456_789n)).toEqual({ seconds: 1714979289, nanos: 123_456_789 });
    expect(timestampFromNanos(-1n)).toEqual({ seconds: -1, nanos: 999_999_999 });
    expect(nanosFromTimestamp({ seconds: -1, nanos: 999_999_999 })).toBe(-1n);
    expect(timestampFromDate(new Date(-1))).toEqual({ seconds: -1, nanos: 999_000_000 });
  });

  it('refuse an invalid Date', () => {
    expect(() => timestampFromDate(new Date('nonsense'))).toThrow('invalid Date');
  });
});

describe('event registry', () => {
  it('matches the event types documented in events.proto, one payload each', () => {
    const proto = readFileSync(join(protoDir, 'berth', 'events', 'v1', 'events.proto'), 'utf8');
    const documented = [...proto.matchAll(/^\/\/ (\w+) is event type "([^"]+)"/gm)].map(([, message, type]) => [
      type,
      message,
    ]);
    const messageCount = [...proto.matchAll(/^message (\w+) \{/gm)].length;
    expect(documented).toHaveLength(messageCount - 1); // every message but Envelope
    const registered = Object.entries(eventPayloads).map(([type, codec]) => [
      type,
      Object.entries(events).find(([, value]) => value === codec)?.[0],
    ]);
    expect(registered).toEqual(documented);
  });

  it('round-trips an exit event through an envelope', () => {
    const exit = eventPayloads['tasks.exit'];
    const payload = exit
      .encode({
        containerId: 'c1',
        execId: '',
        pid: 42,
        exitStatus: { exitCode: 137, signal: 9, oomKilled: true, exitedAt: { seconds: 1, nanos: 2 } },
      })
      .finish();
    const envelope = events.Envelope.decode(
      events.Envelope.encode(
        events.Envelope.fromPartial({ id: 'e1', type: 'tasks.exit', namespace: 'default', payload: Buffer.from(payload) }),
      ).finish(),
    );
    expect(isEventType(envelope.type)).toBe(true);
    expect(isEventType('tasks.nonsense')).toBe(false);
    expect(exit.decode(envelope.payload).exitStatus).toEqual({
      exitCode: 137,
      signal: 9,
      oomKilled: true,
      exitedAt: { seconds: 1, nanos: 2 },
    });
  });
});

describe('serviceNameOf', () => {
  it('reads the fully qualified name from the method paths', () => {
    expect(serviceNameOf(tasks.TasksService)).toBe('berth.tasks.v1.Tasks');
  });

  it('refuses a definition without methods', () => {
    expect(() => serviceNameOf({} as grpc.ServiceDefinition)).toThrow('cannot tell the service name');
  });
});

describe('enums', () => {
  it('are readable strings', () => {
    expect(tasks.ContainerState.RUNNING).toBe('CONTAINER_STATE_RUNNING');
  });
});

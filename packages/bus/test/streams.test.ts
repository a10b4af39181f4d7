// The BERTH_EVENTS stream: created with berth's settings, left alone when
// right, repaired when drifted; a server without JetStream fails clearly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nanos, RetentionPolicy, StorageType } from 'nats';
import { connectBus, EVENTS_STREAM, type Bus } from '../src/index.js';
import { captureLogger, startNats, type TestNats } from './helpers.js';

describe('ensureStreams', () => {
  let nats: TestNats;
  let bus: Bus;
  beforeAll(async () => {
    nats = await startNats();
    bus = await connectBus({ servers: nats.url, service: 'images', node: 'n1', logger: captureLogger().logger });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
  });

  it('has created BERTH_EVENTS on connect with file storage, limits, 7 days, 2 min dedup', async () => {
    const info = await (await bus.connection.jetstreamManager()).streams.info(EVENTS_STREAM);
    expect(info.config).toMatchObject({
      name: 'BERTH_EVENTS',
      subjects: ['berth.*.events.>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: nanos(7 * 24 * 3600 * 1000),
      duplicate_window: nanos(120_000),
    });
    expect(await bus.ensureStreams()).toBe('unchanged');
  });

  it('restores drifted settings and keeps what operators may tune', async () => {
    const jsm = await bus.connection.jetstreamManager();
    const { config } = await jsm.streams.info(EVENTS_STREAM);
    await jsm.streams.update(EVENTS_STREAM, {
      ...config,
      max_age: nanos(3_600_000),
      duplicate_window: nanos(30_000),
      max_msgs: 1000,
      subjects: ['berth.x.events.>'],
    });
    expect(await bus.ensureStreams()).toBe('updated');
    const after = (await jsm.streams.info(EVENTS_STREAM)).config;
    expect(after.max_age).toBe(nanos(7 * 24 * 3600 * 1000));
    expect(after.subjects).toEqual(['berth.*.events.>']);
    expect(after.duplicate_window).toBe(nanos(120_000));
    expect(after.max_msgs).toBe(1000);
  });

  it('refuses a stream whose storage cannot be changed in place', async () => {
    const jsm = await bus.connection.jetstreamManager();
    await jsm.streams.delete(EVENTS_STREAM);
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: ['berth.*.events.>'], storage: StorageType.Memory });
    await expect(bus.ensureStreams()).rejects.toThrow(
      /JetStream stream BERTH_EVENTS exists with storage "memory" but berth needs "file"/,
    );
    await jsm.streams.delete(EVENTS_STREAM);
    expect(await bus.ensureStreams()).toBe('created');
  });
});

describe('a server without JetStream', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats({ jetstream: false });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('fails connectBus clearly unless jetstream: false', async () => {
    await expect(connectBus({ servers: nats.url, service: 'images', node: 'n1', logger: captureLogger().logger })).rejects.toThrow(
      /NATS at 127.0.0.1:\d+ offers no JetStream .*start nats-server with --jetstream, or connect with jetstream: false/,
    );
  });

  it('fails a durable publish clearly; core publishes still work', async () => {
    const bus = await connectBus({ servers: nats.url, service: 'images', node: 'n1', jetstream: false, logger: captureLogger().logger });
    try {
      await expect(bus.publish('default', 'images.created', { ref: 'x' }, { durable: true })).rejects.toThrow(
        /durable publish of images.created event .* on berth.default.events.images.created was not stored: no JetStream stream captures the subject/,
      );
      const env = await bus.publish('default', 'images.created', { ref: 'x' });
      expect(env.type).toBe('images.created');
    } finally {
      await bus.close();
    }
  });
});

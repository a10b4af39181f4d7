// The outbox publisher over a real SQLite outbox, with a bus whose acks the
// test hands out one by one.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '@berth/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxPublisher } from '../src/lifecycle/outbox-publisher.js';
import { Outbox, type OutboxEntry } from '../src/store/outbox.js';
import { openTasksStore } from '../src/store/schema.js';
import { tmp } from './fakes.js';

/** A bus that records every publish and lets the test confirm or refuse each one. */
class ScriptedBus {
  readonly sent: { id: string; answer: (err?: Error) => void }[] = [];

  publish = (entry: OutboxEntry): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.sent.push({ id: entry.id, answer: (err) => (err ? reject(err) : resolve()) });
    });

  ids(): string[] {
    return this.sent.map((s) => s.id);
  }

  answer(id: string, err?: Error): void {
    const open = this.sent.find((s) => s.id === id);
    if (!open) throw new Error(`${id} was not sent`);
    this.sent.splice(this.sent.indexOf(open), 1);
    open.answer(err);
  }
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
};

let dir: string;
let db: Store;
let outbox: Outbox;
let bus: ScriptedBus;
let warnings: string[];
let publisher: OutboxPublisher;

beforeEach(() => {
  dir = tmp('berth-outbox-test-');
  db = openTasksStore(join(dir, 'tasks.db'));
  outbox = new Outbox(db);
  bus = new ScriptedBus();
  warnings = [];
  publisher = new OutboxPublisher({
    outbox,
    publish: bus.publish,
    logger: { warn: (_o: object, m?: string) => void warnings.push(m ?? '') },
    retryMinMs: 5,
    retryMaxMs: 20,
  });
});

afterEach(async () => {
  await publisher.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const pendingIds = () => outbox.pending().map((e) => e.id);

describe('outbox publisher', () => {
  it('sends every entry at once, oldest first, and removes each when its own ack arrives', async () => {
    for (const id of ['e1', 'e2', 'e3']) outbox.add(id, 'ns', 'tasks.exit', { id });
    let flushed = false;
    const flush = publisher.flush().then(() => (flushed = true));
    // All three are on the wire before any ack.
    expect(bus.ids()).toEqual(['e1', 'e2', 'e3']);
    bus.answer('e3');
    await until(() => pendingIds().length === 2, 'e3 to be marked done');
    expect(pendingIds()).toEqual(['e1', 'e2']);
    // A flush meanwhile does not send again what is on its way.
    const again = publisher.flush();
    expect(bus.ids()).toEqual(['e1', 'e2']);
    bus.answer('e1');
    bus.answer('e2');
    await flush;
    await again;
    expect(flushed).toBe(true);
    expect(pendingIds()).toEqual([]);
  });

  it('keeps what was not confirmed: a restart finds it queued', async () => {
    outbox.add('e1', 'ns', 'tasks.exit', {});
    outbox.add('e2', 'ns', 'tasks.exit', {});
    void publisher.flush();
    bus.answer('e2');
    await until(() => pendingIds().length === 1, 'e2 to be marked done');
    // The process dies here: e1 was sent, never confirmed.
    db.close();
    db = openTasksStore(join(dir, 'tasks.db'));
    outbox = new Outbox(db);
    expect(outbox.pending().map((e) => e.id)).toEqual(['e1']);
    bus.answer('e1');
  });

  it('retries a refused entry later, with the others unaffected', async () => {
    for (const id of ['e1', 'e2', 'e3']) outbox.add(id, 'ns', 'tasks.exit', {});
    const flush = publisher.flush();
    bus.answer('e1');
    bus.answer('e2', new Error('no JetStream'));
    bus.answer('e3');
    await flush;
    expect(pendingIds()).toEqual(['e2']);
    expect(warnings).toEqual(['publishing tasks.exit failed; it stays queued and is retried']);
    // The retry timer sends it again.
    await until(() => bus.ids().includes('e2'), 'the retry of e2');
    bus.answer('e2');
    await until(() => pendingIds().length === 0, 'e2 to be marked done');
  });

  it('an explicit flush sends a refused entry again at once', async () => {
    outbox.add('e1', 'ns', 'tasks.exit', {});
    const first = publisher.flush();
    bus.answer('e1', new Error('no JetStream'));
    await first;
    const second = publisher.flush();
    expect(bus.ids()).toEqual(['e1']);
    bus.answer('e1');
    await second;
    expect(pendingIds()).toEqual([]);
  });

  it('close stops retrying and waits for the answers of what was sent', async () => {
    outbox.add('e1', 'ns', 'tasks.exit', {});
    outbox.add('e2', 'ns', 'tasks.exit', {});
    void publisher.flush();
    bus.answer('e1', new Error('no JetStream'));
    let closed = false;
    const closing = publisher.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(closed).toBe(false); // e2 is still on its way
    bus.answer('e2');
    await closing;
    await new Promise((r) => setTimeout(r, 30));
    // No retry of e1 after close; it stays queued for the next start.
    expect(bus.ids()).toEqual([]);
    expect(pendingIds()).toEqual(['e1']);
  });
});

// Events that must not be lost, stored in the same transaction as the change
// they report and removed once the bus has them (the outbox pattern).
import type { Store } from '@berth/store';

export interface OutboxEntry {
  seq: number;
  /** Event id: also the bus's deduplication id, so a resend after a crash is dropped. */
  id: string;
  namespace: string;
  type: string;
  /** Payload in the proto JSON form of the event's message. */
  payload: unknown;
  createdAt: number;
}

export class Outbox {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Queues an event; a second add with the same id is ignored. */
  add(id: string, namespace: string, type: string, payload: unknown): void {
    this.db
      .prepare('INSERT OR IGNORE INTO outbox (id, namespace, type, payload_json, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, namespace, type, JSON.stringify(payload), this.now());
  }

  /** Queued events, oldest first. */
  pending(): OutboxEntry[] {
    const rows = this.db.prepare('SELECT seq, id, namespace, type, payload_json, created_at FROM outbox ORDER BY seq').all() as {
      seq: number;
      id: string;
      namespace: string;
      type: string;
      payload_json: string;
      created_at: number;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      id: r.id,
      namespace: r.namespace,
      type: r.type,
      payload: JSON.parse(r.payload_json),
      createdAt: r.created_at,
    }));
  }

  /** Drops a published event. */
  done(seq: number): void {
    this.db.prepare('DELETE FROM outbox WHERE seq = ?').run(seq);
  }
}

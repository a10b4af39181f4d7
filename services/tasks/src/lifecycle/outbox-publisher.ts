// Publishing the outbox's durable events. Entries are sent in queue order
// without waiting for the previous one's confirmation (pipelined: a burst of
// exits costs one round trip to JetStream, not one each), and each entry
// leaves the outbox only once its own ack arrived, so a crash at any moment
// loses nothing: what was not confirmed is sent again by the next flush (the
// event id is the bus's deduplication id, so a resend is stored once).
// A failed entry stays queued and is retried, with a growing delay.
import type { Outbox, OutboxEntry } from '../store/outbox.js';
import type { Logger } from './context.js';

export interface OutboxPublisherOptions {
  outbox: Pick<Outbox, 'pending' | 'done'>;
  /** Publishes one entry durably; resolves once the bus confirmed it. */
  publish(entry: OutboxEntry): Promise<unknown>;
  logger: Pick<Logger, 'warn'>;
  /** First delay before a failed entry is retried; doubles up to retryMaxMs while publishing fails. */
  retryMinMs: number;
  retryMaxMs: number;
}

export class OutboxPublisher {
  /** Entries sent and not yet confirmed or failed, by outbox seq; each promise never rejects. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private closed = false;

  constructor(private readonly opts: OutboxPublisherOptions) {
    this.retryDelay = opts.retryMinMs;
  }

  /**
   * Sends every queued entry that is not on its way already, oldest first;
   * resolves once each queued entry was confirmed (and removed) or failed
   * (kept, and retried later).
   */
  flush(): Promise<void> {
    const outcomes: Promise<void>[] = [];
    for (const entry of this.opts.outbox.pending()) {
      let outcome = this.inFlight.get(entry.seq);
      if (!outcome) {
        outcome = this.send(entry);
        const sent = outcome;
        this.inFlight.set(entry.seq, sent);
        void sent.finally(() => this.inFlight.delete(entry.seq));
      }
      outcomes.push(outcome);
    }
    return Promise.all(outcomes).then(() => undefined);
  }

  /** Entries sent and not yet answered. */
  get sending(): number {
    return this.inFlight.size;
  }

  /** Stops retrying and waits for the answers of what was sent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.all([...this.inFlight.values()]);
  }

  private send(entry: OutboxEntry): Promise<void> {
    let confirmed: Promise<unknown>;
    try {
      confirmed = this.opts.publish(entry);
    } catch (err) {
      confirmed = Promise.reject(err);
    }
    return confirmed.then(
      () => {
        this.retryDelay = this.opts.retryMinMs;
        try {
          this.opts.outbox.done(entry.seq);
        } catch (err) {
          // Still queued: sent again later, and stored once (same event id).
          this.opts.logger.warn({ err, event: entry.id }, `cannot mark ${entry.type} as published; it will be sent again`);
        }
      },
      (err: unknown) => {
        this.opts.logger.warn({ err, event: entry.id, retryInMs: this.retryDelay }, `publishing ${entry.type} failed; it stays queued and is retried`);
        this.scheduleRetry();
      },
    );
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.retryMaxMs);
  }
}

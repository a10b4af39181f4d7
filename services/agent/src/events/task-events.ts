// The agent's task events on NATS. tasks.exit must never be lost: each one
// is published durably (stored by JetStream) from a queue that retries, in
// order, until the store confirms it, however long NATS is away; and since
// every agent start re-reports the exits still on disk (watchExits with
// includeExisting), an exit queued when the agent died is published by the
// next one. Duplicates are possible and harmless (consumers key exits by
// container and time). The other task events (created, started, paused,
// resumed, deleted) are published once, best effort.
//
// Payloads are the berth.events.v1 messages in proto3 JSON (eventPayloads),
// inside the bus envelope: decode with eventPayloads[type].fromJSON.
import { eventPayloads, events, type EventPayload } from '@berth/api';
import type { Bus } from '@berth/bus';
import type { ExitStatus } from '../runtime/exit-status.js';
import { exitStatusMessage } from '../grpc/convert.js';
import type { NamespaceBook } from './namespaces.js';

type LifecycleType = 'tasks.created' | 'tasks.started' | 'tasks.paused' | 'tasks.resumed' | 'tasks.deleted';

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Outgoing {
  namespace: string;
  containerId: string;
  payload: unknown;
  attempts: number;
}

export interface TaskEventsOptions {
  bus: Pick<Bus, 'publish'>;
  logger: Logger;
  namespaces: NamespaceBook;
  /** The init pid conmon recorded, for the exit event. */
  initPid(id: string): Promise<number | undefined>;
  /** The container's bundle (where its namespace annotation is), while it exists. */
  bundleOf(id: string): Promise<string | undefined>;
  /** First retry delay; doubles up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export class TaskEvents {
  private readonly queue: Outgoing[] = [];
  /** The exit (its time) last queued per container: the watcher and DeleteTask may both report one. */
  private readonly reported = new Map<string, string>();
  private draining: Promise<void> | undefined;
  private closed = false;
  private wakeRetry: (() => void) | undefined;

  constructor(private readonly opts: TaskEventsOptions) {}

  /**
   * Queues the durable tasks.exit of `id` unless this exit (same container,
   * same time) was already queued by this agent.
   */
  exited(id: string, exit: ExitStatus): void {
    if (this.reported.get(id) === exit.exitedAt) return;
    this.reported.set(id, exit.exitedAt);
    void (async () => {
      const [namespace, pid] = await Promise.all([this.namespaceOf(id), this.opts.initPid(id).catch(() => undefined)]);
      const payload = eventPayloads['tasks.exit'].toJSON(
        events.TaskExit.fromPartial({ containerId: id, execId: '', pid: pid ?? 0, exitStatus: exitStatusMessage(exit) }),
      );
      this.queue.push({ namespace, containerId: id, payload, attempts: 0 });
      this.drain();
    })().catch((err: unknown) => this.opts.logger.error({ err, containerId: id }, 'cannot queue the tasks.exit event'));
  }

  /** Drops what is remembered of a deleted container (a little later: a watcher may still be reporting it). */
  forget(id: string, afterMs = 60_000): void {
    setTimeout(() => {
      this.reported.delete(id);
      this.opts.namespaces.forget(id);
    }, afterMs).unref();
  }

  /** Publishes a task lifecycle event once; a failure is logged, not retried. */
  async lifecycle<T extends LifecycleType>(type: T, containerId: string, payload: EventPayload<T>): Promise<void> {
    try {
      const namespace = await this.namespaceOf(containerId);
      const codec = eventPayloads[type] as { toJSON(m: EventPayload<T>): unknown };
      await this.opts.bus.publish(namespace, type, codec.toJSON(payload), { durable: false });
    } catch (err) {
      this.opts.logger.warn({ err, containerId, type }, 'cannot publish a task event');
    }
  }

  private async namespaceOf(id: string): Promise<string> {
    if (this.opts.namespaces.known(id)) return this.opts.namespaces.of(id);
    return this.opts.namespaces.of(id, await this.opts.bundleOf(id).catch(() => undefined));
  }

  /** Events still waiting to be confirmed. */
  get pending(): number {
    return this.queue.length;
  }

  private drain(): void {
    if (this.draining || this.closed) return;
    this.draining = (async () => {
      let delay = this.opts.retryMinMs ?? 250;
      while (this.queue.length > 0 && !this.closed) {
        const head = this.queue[0] as Outgoing;
        try {
          head.attempts++;
          await this.opts.bus.publish(head.namespace, 'tasks.exit', head.payload, { durable: true });
          this.queue.shift();
          if (head.attempts > 1) this.opts.logger.info({ containerId: head.containerId, attempts: head.attempts }, 'tasks.exit published after retries');
          delay = this.opts.retryMinMs ?? 250;
        } catch (err) {
          this.opts.logger.warn(
            { err, containerId: head.containerId, attempts: head.attempts, retryInMs: delay, queued: this.queue.length },
            'publishing tasks.exit failed; retrying',
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            this.wakeRetry = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wakeRetry = undefined;
          delay = Math.min(delay * 2, this.opts.retryMaxMs ?? 5000);
        }
      }
    })().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0 && !this.closed) this.drain();
    });
  }

  /**
   * Gives queued exits up to `graceMs` to be confirmed, then stops retrying.
   * What is left is on disk and re-reported by the next agent start.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.draining) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.draining, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    this.closed = true;
    this.wakeRetry?.();
    await this.draining;
    if (this.queue.length > 0) {
      this.opts.logger.warn({ queued: this.queue.length }, 'stopping with tasks.exit events unconfirmed; the next agent start publishes them');
    }
  }
}

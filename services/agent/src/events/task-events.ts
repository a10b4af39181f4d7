// The agent's report of task exits on NATS: `agent.task.exit` (of init and
// exec processes), the agent's own event type. The public `tasks.*` events
// (created, started, paused, resumed, exit, deleted) are the tasks service's
// alone; it consumes these reports durably, so an exit that happens while it
// is down still reaches it. A report must never be lost: each one is
// published durably (stored by JetStream) from a queue that retries until
// the store confirms it, however long NATS is away (reports go out in the
// order they were made without waiting for each other's confirmation); and since
// every agent start re-reports the exits still on disk (watchExits with
// includeExisting), an exit queued when the agent died is published by the
// next one. A re-report carries the same envelope id (derived from the
// exit), so JetStream stores it once within its duplicate window; beyond
// that a duplicate is possible and harmless (the tasks service records an
// exit once, keyed by container and time).
//
// The payload is berth.events.v1 TaskExit in proto3 JSON, inside the bus
// envelope: decode with eventPayloads['tasks.exit'].fromJSON.
import { createHash } from 'node:crypto';
import { eventPayloads, events } from '@berth/api';
import { EnvelopeError, SubjectError, type Bus } from '@berth/bus';
import type { ExitStatus } from '../runtime/exit-status.js';
import { exitStatusMessage } from '../grpc/convert.js';
import type { NamespaceBook } from './namespaces.js';

/** The agent's exit report type; on berth.<namespace>.events.agent.task.exit. */
export const AGENT_TASK_EXIT = 'agent.task.exit';

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Outgoing {
  containerId: string;
  /** Namespace and payload, looked up as the exit is queued (never rejects). */
  prepared: Promise<{ namespace: string; payload: unknown }>;
  /** Envelope id derived from the exit, so JetStream stores a re-report or a retry once (within its window). */
  eventId: string;
  attempts: number;
  /** Its last publish failed: the retry timer sends it again. */
  failed: boolean;
}

export interface TaskEventsOptions {
  bus: Pick<Bus, 'publish' | 'node'>;
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
  /** Exits not yet confirmed, in the order they were reported. */
  private readonly queue: Outgoing[] = [];
  /** The exit (its time) last queued per process: a watcher and DeleteTask may both report one. */
  private readonly reported = new Map<string, string>();
  /**
   * Publishes go out one after the other in queue order, each as soon as its
   * payload is ready: this chain waits for payloads, never for confirmations,
   * so a burst of exits is not serialized on one round trip each.
   */
  private sending: Promise<void> = Promise.resolve();
  /** Confirmations awaited. */
  private readonly inFlight = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private onEmpty: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: TaskEventsOptions) {
    this.retryDelay = opts.retryMinMs ?? 250;
  }

  /**
   * Queues the durable exit report of a container's init process (or, with
   * execId, of an exec process) unless this exit (same process, same time)
   * was already queued by this agent.
   */
  exited(id: string, exit: ExitStatus, proc: { execId?: string; pid?: number } = {}): void {
    const execId = proc.execId ?? '';
    const key = `${id}\0${execId}`;
    if (this.reported.get(key) === exit.exitedAt) return;
    this.reported.set(key, exit.exitedAt);
    // Queued now, so exits go out in the order they were reported.
    const prepared = (async () => {
      const [namespace, pid] = await Promise.all([
        this.namespaceOf(id).catch(() => this.opts.namespaces.defaultNamespace),
        proc.pid !== undefined || execId !== '' ? proc.pid : this.opts.initPid(id).catch(() => undefined),
      ]);
      const payload = eventPayloads['tasks.exit'].toJSON(
        events.TaskExit.fromPartial({ containerId: id, execId, pid: pid ?? 0, exitStatus: exitStatusMessage(exit) }),
      );
      return { namespace, payload };
    })();
    const eventId = exitEventId(this.opts.bus.node, id, execId, exit.exitedAt);
    const entry: Outgoing = { containerId: id, prepared, eventId, attempts: 0, failed: false };
    this.queue.push(entry);
    this.send(entry);
  }

  /** Drops what is remembered of a deleted container (a little later: a watcher may still be reporting it). */
  forget(id: string, afterMs = 60_000): void {
    setTimeout(() => {
      for (const key of this.reported.keys()) if (key.startsWith(`${id}\0`)) this.reported.delete(key);
      this.opts.namespaces.forget(id);
    }, afterMs).unref();
  }

  private async namespaceOf(id: string): Promise<string> {
    if (this.opts.namespaces.known(id)) return this.opts.namespaces.of(id);
    return this.opts.namespaces.of(id, await this.opts.bundleOf(id).catch(() => undefined));
  }

  /** Events still waiting to be confirmed. */
  get pending(): number {
    return this.queue.length;
  }

  /** Publishes an entry after those sent before it; it leaves the queue once JetStream confirms it. */
  private send(entry: Outgoing): void {
    if (this.closed) return;
    entry.failed = false;
    let confirmed!: Promise<unknown>;
    const sent = this.sending.then(async () => {
      const { namespace, payload } = await entry.prepared;
      entry.attempts++;
      confirmed = this.opts.bus.publish(namespace, AGENT_TASK_EXIT, payload, { durable: true, id: entry.eventId });
    });
    this.sending = sent.catch(() => undefined);
    const outcome = sent
      .then(() => confirmed)
      .then(
        () => this.confirmed(entry),
        (err: unknown) => this.failed(entry, err),
      );
    this.inFlight.add(outcome);
    void outcome.finally(() => this.inFlight.delete(outcome));
  }

  private confirmed(entry: Outgoing): void {
    this.remove(entry);
    this.retryDelay = this.opts.retryMinMs ?? 250;
    if (entry.attempts > 1) this.opts.logger.info({ containerId: entry.containerId, attempts: entry.attempts }, `${AGENT_TASK_EXIT} published after retries`);
  }

  private failed(entry: Outgoing, err: unknown): void {
    if (err instanceof SubjectError || err instanceof EnvelopeError) {
      // Not NATS being away: this event can never be published, and must not be retried forever.
      this.opts.logger.error({ err, containerId: entry.containerId }, `dropping an ${AGENT_TASK_EXIT} event that cannot be published`);
      this.remove(entry);
      return;
    }
    entry.failed = true;
    this.opts.logger.warn(
      { err, containerId: entry.containerId, attempts: entry.attempts, retryInMs: this.retryDelay, queued: this.queue.length },
      `publishing ${AGENT_TASK_EXIT} failed; retrying`,
    );
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // Every failed exit again, oldest first.
      for (const e of this.queue) if (e.failed) this.send(e);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.retryMaxMs ?? 5000);
  }

  private remove(entry: Outgoing): void {
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.queue.length === 0) this.onEmpty?.();
  }

  /**
   * Gives queued exits up to `graceMs` to be confirmed, then stops retrying.
   * What is left is on disk and re-reported by the next agent start.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.queue.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.onEmpty = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.onEmpty = undefined;
    }
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.allSettled([...this.inFlight]);
    if (this.queue.length > 0) {
      this.opts.logger.warn({ queued: this.queue.length }, `stopping with ${AGENT_TASK_EXIT} events unconfirmed; the next agent start publishes them`);
    }
  }
}

/** The envelope id of an exit event: the same for every report of the same exit. Pure. */
export function exitEventId(node: string, containerId: string, execId: string, exitedAt: string): string {
  return createHash('sha256').update(`${AGENT_TASK_EXIT}\0${node}\0${containerId}\0${execId}\0${exitedAt}`).digest('hex').slice(0, 32);
}

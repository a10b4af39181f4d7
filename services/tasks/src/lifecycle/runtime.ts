// The mechanics under every lifecycle decision: setting a task up and
// tearing it down, starting the init process, recording exits exactly once,
// restarting by policy, and removing a container with everything it owns.
// API-facing checks live in containers-api.ts and tasks-api.ts.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { eventPayloads, events, tasks, types, type EventPayload, type EventType } from '@berth/api';
import { errorMessage, grpcCode, GrpcStatus, isNotFound, TasksError, withContext } from '../errors.js';
import type { ContainerRecord, ExitInfo, NetworkAttachmentSummary } from '../records.js';
import { decideRestart, type RestartPolicySpec } from '../restart-policy.js';
import { withTaskEnvironment } from '@berth/runtime-spec';
import { allSettledOrThrow } from '@berth/service-kit';
import { networkMode, userOf } from '../container-spec.js';
import { ContainerStore } from '../store/containers.js';
import { ExitLog } from '../store/exits.js';
import { Outbox } from '../store/outbox.js';
import { parseExposedPort } from '../validate.js';
import { VolumeStore } from '../volumes/store.js';
import type { AgentPort, Attachment } from '../ports.js';
import type { Logger, TasksDeps, TasksSettings } from './context.js';
import { exitInfoFrom, exitKey, exitStatusFrom, UNKNOWN_EXIT_CODE } from './exit-status.js';
import { ExitWaiters } from './exit-waiters.js';
import { KeyedMutex } from './keyed-mutex.js';
import { OutboxPublisher } from './outbox-publisher.js';

const { RestartPolicyName: N } = tasks;

/** The restart policy of a spec in the decision module's terms. */
export function restartPolicyOf(spec: tasks.ContainerSpec): RestartPolicySpec {
  const p = spec.restartPolicy;
  switch (p?.name) {
    case N.ON_FAILURE:
      return { kind: 'on-failure', maxRetries: p.maxRetries };
    case N.ALWAYS:
      return { kind: 'always', maxRetries: 0 };
    case N.UNLESS_STOPPED:
      return { kind: 'unless-stopped', maxRetries: 0 };
    default:
      return { kind: 'no', maxRetries: 0 };
  }
}

/** Ports to publish: the requested ones plus, with publish_all, every exposed port on a free host port. */
export function portsToPublish(record: ContainerRecord): types.PortMapping[] {
  const ports = [...record.spec.ports];
  if (!record.spec.publishAll) return ports;
  const protocols = { tcp: types.Protocol.TCP, udp: types.Protocol.UDP, sctp: types.Protocol.SCTP };
  const exposed = [...Object.keys(record.imageConfig.ExposedPorts ?? {}), ...record.spec.exposedPorts];
  for (const text of exposed) {
    const { from, to, protocol } = parseExposedPort(text, 'exposed port');
    for (let port = from; port <= to; port++) {
      const proto = protocols[protocol];
      const taken = ports.some(
        (p) => p.containerPort === port && (p.protocol === proto || (proto === types.Protocol.TCP && p.protocol === types.Protocol.UNSPECIFIED)),
      );
      if (!taken) ports.push({ hostIp: '', hostPort: 0, containerPort: port, protocol: proto });
    }
  }
  return ports;
}

function attachmentSummary(a: Attachment): NetworkAttachmentSummary {
  const ip = a.ips[0];
  return {
    network: a.network,
    interfaceName: a.interfaceName,
    address: ip?.address ?? '',
    gateway: ip?.gateway ?? '',
    macAddress: a.macAddress,
    ports: a.ports,
  };
}

/**
 * Whether none of the container's processes can still run: its init exited
 * (recorded: pid 0) and, with a PID namespace of its own, the kernel killed
 * everything else in it when the init died.
 */
function processesGone(record: Pick<ContainerRecord, 'pid' | 'runtimeSpec'>): boolean {
  const ownPidNamespace = (record.runtimeSpec.linux?.namespaces ?? []).some((ns) => ns.type === 'pid' && !ns.path);
  return record.pid === 0 && ownPidNamespace;
}

/** Longest pause between attempts to reach an agent to wait for a process (it may be restarting). */
const WATCH_RETRY_MAX_MS = 5_000;

/** Delay before queued durable events are offered to the bus again after a failure; it doubles up to the max. */
const OUTBOX_RETRY_MS = 2_000;
const OUTBOX_RETRY_MAX_MS = 30_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export class Runtime {
  readonly store: ContainerStore;
  readonly exits: ExitLog;
  readonly outbox: Outbox;
  readonly volumes: VolumeStore;
  readonly waiters = new ExitWaiters();
  readonly locks = new KeyedMutex();
  /** Starts in progress, by container id (see startSettled). */
  private readonly starts = new Map<string, Promise<number | undefined>>();
  /** Task changes (see taskChangedSince): a counter, and its value at each container's last change. */
  private taskChangeSeq = 0;
  private readonly taskChanges = new Map<string, number>();
  readonly settings: TasksSettings;
  readonly logger: Logger;
  readonly now: () => number;
  private readonly watchers = new Map<string, AbortController>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly outboxPublisher: OutboxPublisher;
  private closed = false;

  constructor(readonly deps: TasksDeps) {
    this.now = deps.now ?? Date.now;
    this.store = new ContainerStore(deps.db, this.now);
    this.exits = new ExitLog(deps.db, this.now);
    this.outbox = new Outbox(deps.db, this.now);
    this.outboxPublisher = new OutboxPublisher({
      outbox: this.outbox,
      publish: (entry) => deps.events.publish(entry.namespace, entry.type, entry.payload, { durable: true, id: entry.id }),
      logger: deps.logger,
      retryMinMs: OUTBOX_RETRY_MS,
      retryMaxMs: OUTBOX_RETRY_MAX_MS,
    });
    this.volumes = new VolumeStore(deps.db, deps.settings.stateDir, this.now);
    this.settings = deps.settings;
    this.logger = deps.logger;
  }

  agentFor(record: Pick<ContainerRecord, 'nodeId'>): AgentPort {
    return this.deps.agents.forNode(record.nodeId);
  }

  /** Host path of a container's log file (written by the agent's monitor). */
  logPath(id: string): string {
    return join(this.settings.stateDir, 'logs', id, 'container.log');
  }

  /** Host directory of a volume's data. */
  volumePath(namespace: string, name: string): string {
    return this.volumes.dataPath(namespace, name);
  }

  /**
   * What the agent fills from the image before the task is created: every
   * volume mount without "nocopy", at the host directory the runtime spec
   * binds there (it was fixed when the container was created).
   */
  copyUpsOf(record: ContainerRecord): { path: string; target: string }[] {
    const bound = new Map((record.runtimeSpec.mounts ?? []).map((m) => [posix.normalize(m.destination), m.source ?? '']));
    return record.spec.mounts
      .filter((m) => m.type === 'volume' && !m.options.includes('nocopy'))
      .map((m) => ({ path: m.target, target: bound.get(posix.normalize(m.target)) || this.volumePath(record.namespace, m.source) }));
  }

  /** Runs background work, keeping track of it so close() can wait; failures are logged. */
  spawn(what: string, work: () => Promise<unknown>): void {
    const p = work().catch((err: unknown) => this.logger.error({ err }, `${what} failed`));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Publishes a best-effort event (not awaited). */
  publish<T extends EventType>(namespace: string, type: T, payload: EventPayload<T>): void {
    if (this.closed) return;
    this.deps.events
      .publish(namespace, type, eventPayloads[type].toJSON(payload), { durable: false })
      .catch((err: unknown) => this.logger.warn({ err, type }, `publishing event ${type} failed`));
  }

  /** Publishes a best-effort event whose type has no message in the API (its payload is plain JSON). */
  publishJson(namespace: string, type: string, payload: Record<string, unknown>): void {
    if (this.closed) return;
    this.deps.events
      .publish(namespace, type, payload, { durable: false })
      .catch((err: unknown) => this.logger.warn({ err, type }, `publishing event ${type} failed`));
  }

  /**
   * Publishes queued durable events, oldest first, without waiting for one
   * ack before sending the next (see outbox-publisher.ts); resolves once each
   * was confirmed or failed (a failed one is retried later).
   */
  flushOutbox(): Promise<void> {
    return this.outboxPublisher.flush();
  }

  // ---- task set-up and tear-down -------------------------------------------------------------

  /**
   * Creates the container's task: network namespace, network attachments,
   * name files, then the agent's task (runc create). Each step is recorded
   * (task "creating") so that a crash half-way is undone by reconcile().
   * On failure everything made is torn down and the error is recorded.
   */
  async setupTask(record: ContainerRecord): Promise<ContainerRecord> {
    return this.changingTask(record.id, () => this.createTaskSteps(record));
  }

  private async createTaskSteps(record: ContainerRecord): Promise<ContainerRecord> {
    const { id, namespace } = record;
    const agent = this.agentFor(record);
    let rec = this.patch(id, { task: 'creating', error: '', networks: [], netnsPath: '', nameFiles: undefined });
    try {
      const mode = networkMode(rec.spec);
      // Independent steps run at once (each records what it made, so a teardown undoes it);
      // all of them settle before a failure is handled, so none is left running.
      const [, nameFiles, rootfs] = await allSettledOrThrow([
        this.setupNetworks(rec, mode),
        this.deps.networking
          .prepareDns(namespace, {
            containerId: id,
            hostname: rec.runtimeSpec.hostname ?? id.slice(0, 12),
            domainname: rec.spec.domainname,
            extraHosts: rec.spec.extraHosts,
            dns: rec.spec.dns,
            hostNetwork: mode === 'host',
          })
          .then((files) => {
            this.patch(id, { nameFiles: files });
            return files;
          }),
        this.deps.snapshots.mounts(namespace, rec.snapshotter, rec.snapshotKey),
      ]);
      rec = this.current(id);
      // A volume whose record went missing (made before volumes had records) is recorded again.
      for (const m of rec.spec.mounts) {
        if (m.type === 'volume') this.volumes.ensure(namespace, m.source, { anonymous: m.source.startsWith(`${id}-`) });
      }
      const spec = withTaskEnvironment(rec.runtimeSpec, { netnsPath: rec.netnsPath || undefined, nameFiles });
      mkdirSync(dirname(rec.logPath), { recursive: true, mode: 0o700 });
      const { pid } = await agent.createTask({
        containerId: id,
        spec,
        rootfs,
        stdio: {
          terminal: rec.spec.tty,
          stdin: rec.spec.openStdin,
          logPath: rec.logPath,
          logMaxBytes: this.settings.logMaxBytes,
          logMaxFiles: this.settings.logMaxFiles,
        },
        user: userOf(rec.spec, rec.imageConfig),
        privileged: rec.spec.privileged,
        copyUps: this.copyUpsOf(rec),
      });
      rec = this.patch(id, { task: 'present', pid });
      this.publish(namespace, 'tasks.created', { containerId: id, pid });
      return rec;
    } catch (error) {
      const failure = withContext(error, `cannot create the task of container ${rec.name}`);
      await this.recordStartFailure(id, failure);
      throw failure;
    }
  }

  /**
   * In bridge mode, the container's network namespace and its attachments
   * (recorded one by one). With "none" runc makes the namespace itself, with
   * only loopback (up), as `ctr run` does: nothing can join it later (connect
   * refuses "none"), so a named one would only cost two agent calls a run.
   */
  private async setupNetworks(record: ContainerRecord, mode: ReturnType<typeof networkMode>): Promise<void> {
    if (mode !== 'bridge') return;
    const { id, namespace } = record;
    const rec = this.patch(id, { netnsPath: await this.agentFor(record).createNetns(id) });
    const endpoints = rec.spec.networks.length > 0 ? rec.spec.networks : [{ network: '', aliases: [], ipAddress: '' }];
    const ports = portsToPublish(rec);
    for (const [i, endpoint] of endpoints.entries()) {
      const attachment = await this.deps.networking.attach(namespace, {
        containerId: id,
        containerName: rec.name,
        netnsPath: rec.netnsPath,
        network: endpoint.network,
        aliases: endpoint.aliases,
        ipAddress: endpoint.ipAddress,
        // Ports are published once, through the first network.
        ports: i === 0 ? ports : [],
        // Empty: the networking service picks the first free ethN in the namespace and returns it.
        interfaceName: '',
      });
      this.patch(id, { networks: [...this.current(id).networks, attachmentSummary(attachment)] });
    }
  }

  /** Records why a start failed (with Docker's 127/126 exit codes, as the agent said) and tears down what was made. */
  private async recordStartFailure(id: string, failure: TasksError): Promise<void> {
    const code = failure.exitCode;
    const rec = this.store.patch(id, {
      error: failure.message,
      ...(code !== undefined ? { exit: { exitCode: code, signal: 0, oomKilled: false, exitedAt: this.now() } } : {}),
    });
    if (!rec) return;
    try {
      await this.teardownTask(rec);
    } catch (err) {
      this.logger.warn({ err, container: id }, 'cleaning up after a failed start failed; reconcile will retry');
    }
  }

  /**
   * Removes the container's task and what it holds on the node: the agent's
   * task, network attachments, name files, network namespace. Every step is
   * idempotent and every one is tried; if any fails the record keeps saying a
   * task is present so a later teardown (or reconcile) finishes the job.
   */
  async teardownTask(record: ContainerRecord): Promise<ContainerRecord> {
    const { id, namespace } = record;
    const agent = this.agentFor(record);
    const failures: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        if (!isNotFound(err)) failures.push(`${what}: ${errorMessage(err)}`);
      }
    };
    // Independent steps at once; the namespace goes only after the attachments in it.
    // Only bridge mode makes a namespace (a crash may have made it before it was
    // recorded); one recorded by an older berth in "none" mode goes too.
    const bridged = networkMode(record.spec) === 'bridge';
    await Promise.all([
      step('delete the agent task', () => agent.deleteTask(id, '', true)),
      step('remove name files', () => this.deps.networking.removeDns(namespace, id)),
      bridged || record.netnsPath !== ''
        ? step('detach networks', () => this.deps.networking.detach(namespace, id)).then(() =>
            step('remove the network namespace', () => agent.removeNetns(id)),
          )
        : undefined,
    ]);
    if (failures.length > 0) {
      throw new TasksError(
        GrpcStatus.UNAVAILABLE,
        `cannot tear down the task of container ${record.name}: ${failures.join('; ')}`,
      );
    }
    return this.patch(id, { task: 'none', pid: 0, netnsPath: '', networks: [], nameFiles: undefined });
  }

  // ---- starting -------------------------------------------------------------------------------

  /**
   * Starts the container's init process, setting its task up first when
   * there is none. `byUser` resets the restart bookkeeping (a user start).
   * Call with the container's lock held.
   */
  async startInit(record: ContainerRecord, opts: { byUser: boolean }): Promise<number> {
    const { id } = record;
    let rec = record;
    if (opts.byUser) {
      this.cancelRestart(id);
      rec = this.patch(id, { stoppedByUser: false, restartCount: 0, restartDelayMs: 0, restartAt: undefined });
    }
    const agent = this.agentFor(rec);
    // A task this service just created (run; create then start) is started
    // without first asking the agent what it is: the agent's start itself
    // refuses anything but a created task, and only then is it asked.
    if (rec.task === 'present' && rec.phase === 'created') {
      const pid = await this.startCreatedTask(rec, agent, { fallBack: true });
      if (pid !== undefined) return pid;
      rec = this.current(id);
    }
    if (rec.task === 'present') {
      const task = await agent.getTask(id).catch((err: unknown) => {
        throw withContext(err, `cannot reach the agent of node ${rec.nodeId}`);
      });
      if (task && (task.status === 'running' || task.status === 'paused') && (rec.phase === 'running' || rec.phase === 'paused')) {
        return task.pid;
      }
      if (!task || task.status !== 'created') rec = await this.teardownTask(rec);
    }
    if (rec.task !== 'present') rec = await this.setupTask(rec);
    return (await this.startCreatedTask(rec, agent, { fallBack: false })) as number;
  }

  /**
   * Starts the agent's created task and records the run. With fallBack, an
   * agent answering that the task is not (or no longer) a created one gives
   * undefined and nothing is recorded: the caller looks at the task first.
   */
  private async startCreatedTask(rec: ContainerRecord, agent: AgentPort, opts: { fallBack: boolean }): Promise<number | undefined> {
    const { id, name } = rec;
    const start = this.changingTask(id, async () => {
      const startedAt = this.now();
      let pid: number;
      try {
        pid = await agent.startTask(id, '');
      } catch (error) {
        const code = grpcCode(error);
        if (opts.fallBack && (code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.NOT_FOUND)) return undefined;
        const failure = withContext(error, `cannot start container ${name}`);
        await this.recordStartFailure(id, failure);
        throw failure;
      }
      const running = this.patch(id, { phase: 'running', pid, startedAt, error: '', restartAt: undefined });
      this.publish(running.namespace, 'tasks.started', { containerId: id, execId: '', pid });
      this.watchInit(running);
      return pid;
    });
    this.starts.set(id, start);
    try {
      return await start;
    } finally {
      if (this.starts.get(id) === start) this.starts.delete(id);
    }
  }

  /**
   * Settles when a start of the container in progress has recorded its run.
   * Exit reports that arrive by other ways than the watcher wait for it: a
   * process that exits before StartTask returns would otherwise have its
   * exit recorded first and then overwritten by the start's "running".
   */
  startSettled(id: string): Promise<void> {
    const start = this.starts.get(id);
    return start ? start.then(() => undefined, () => undefined) : Promise.resolve();
  }

  // ---- exits ----------------------------------------------------------------------------------

  /** Follows the init process through the agent's WaitTask until it exits; survives agent restarts. */
  watchInit(record: ContainerRecord): void {
    const { id } = record;
    this.watchers.get(id)?.abort();
    const controller = new AbortController();
    this.watchers.set(id, controller);
    const { signal } = controller;
    this.spawn(`watching container ${id}`, async () => {
      let delay = 250;
      try {
        while (!signal.aborted && !this.closed) {
          try {
            const status = await this.agentFor(record).waitTask(id, '', signal);
            if (signal.aborted) return;
            this.recordInitExit(id, status);
            return;
          } catch (err) {
            if (signal.aborted || this.closed) return;
            if (isNotFound(err)) {
              this.recordLostExit(id, `the agent of node ${record.nodeId} has no task for this container: exit status unknown`);
              return;
            }
            this.logger.warn({ err, container: id, retryInMs: delay }, 'waiting for the task failed; retrying');
            await sleep(delay, signal);
            delay = Math.min(delay * 2, WATCH_RETRY_MAX_MS);
          }
        }
      } finally {
        if (this.watchers.get(id) === controller) this.watchers.delete(id);
      }
    });
  }

  /** Follows an exec process until it exits. */
  watchExec(record: ContainerRecord, execId: string): void {
    const key = `${record.id}/${execId}`;
    if (this.watchers.has(key)) return;
    const controller = new AbortController();
    this.watchers.set(key, controller);
    const { signal } = controller;
    this.spawn(`watching exec ${key}`, async () => {
      let delay = 250;
      try {
        while (!signal.aborted && !this.closed) {
          try {
            const status = await this.agentFor(record).waitTask(record.id, execId, signal);
            if (!signal.aborted) this.recordExecExit(record.id, execId, status);
            return;
          } catch (err) {
            if (signal.aborted || this.closed || isNotFound(err)) return;
            await sleep(delay, signal);
            delay = Math.min(delay * 2, WATCH_RETRY_MAX_MS);
          }
        }
      } finally {
        if (this.watchers.get(key) === controller) this.watchers.delete(key);
      }
    });
  }

  private exitEventId(containerId: string, execId: string, key: string): string {
    return createHash('sha256').update(`tasks.exit\0${containerId}\0${execId}\0${key}`).digest('hex');
  }

  /**
   * Records the exit of a container's init process, once: a redelivery (same
   * exit key) or an exit of an earlier run changes nothing. In the
   * same transaction: the container's new phase (stopped, restarting by
   * policy, or removing for auto-remove) and the durable tasks.exit event.
   * Returns true when this call recorded it.
   */
  recordInitExit(id: string, status: types.ExitStatus, lostReason?: string): boolean {
    const now = this.now();
    let recorded: { exit: ExitInfo; namespace: string } | undefined;
    this.store.durableTransaction(() => {
      const rec = this.store.get(id);
      if (!rec) return;
      const exit = exitInfoFrom(status, now);
      const key = lostReason !== undefined ? `lost:${rec.startedAt ?? 0}` : exitKey(status, rec.startedAt);
      const live =
        rec.phase === 'running' ||
        rec.phase === 'paused' ||
        rec.phase === 'removing' ||
        (rec.task === 'present' && rec.phase === 'created');
      if (!live) return;
      // An exit no later than the last one recorded belongs to an earlier run. Not compared with
      // startedAt: exit times are exit-file mtimes, from the kernel's coarse clock, which lags
      // Date.now() by up to a tick; a process that exits at once can look older than its start.
      if (rec.exit !== undefined && exit.exitedAt <= rec.exit.exitedAt) return;
      // A timed exit seen before while the record is still live is one this service once set aside
      // by comparing it with startedAt: recorded now. Without a time of its own, seen is seen.
      if (!this.exits.record(id, '', key, exit) && !status.exitedAt) return;
      const pid = rec.pid;
      rec.exit = exit;
      rec.pid = 0;
      if (lostReason !== undefined) rec.error = lostReason;
      if (rec.phase !== 'removing') {
        const decision = decideRestart(
          restartPolicyOf(rec.spec),
          {
            exitCode: exit.exitCode,
            restartCount: rec.restartCount,
            stoppedByUser: rec.stoppedByUser,
            removing: false,
            ranForMs: Math.max(0, exit.exitedAt - (rec.startedAt ?? exit.exitedAt)),
            previousDelayMs: rec.restartDelayMs,
          },
          this.settings.backoff,
        );
        if (decision.restart) {
          rec.phase = 'restarting';
          rec.restartCount += 1;
          rec.restartDelayMs = decision.delayMs;
          rec.restartAt = now + decision.delayMs;
        } else if (rec.spec.autoRemove) {
          rec.phase = 'removing';
          rec.keepLogsOnRemove = false;
        } else {
          rec.phase = 'stopped';
          rec.restartAt = undefined;
        }
      }
      this.store.save(rec);
      this.outbox.add(
        this.exitEventId(id, '', key),
        rec.namespace,
        'tasks.exit',
        events.TaskExit.toJSON({ containerId: id, execId: '', pid, exitStatus: exitStatusFrom(exit) }),
      );
      recorded = { exit, namespace: rec.namespace };
    });
    if (!recorded) return false;
    // The event first: what follows delays the moment it leaves.
    void this.flushOutbox();
    this.watchers.get(id)?.abort();
    this.waiters.resolve(id, '', recorded.exit);
    this.spawn(`handling the exit of container ${id}`, () => this.locks.run(id, () => this.afterExit(id)));
    return true;
  }

  /** Records that a container's task vanished without an exit status (exit code 255). */
  recordLostExit(id: string, reason: string): boolean {
    return this.recordInitExit(
      id,
      { exitCode: UNKNOWN_EXIT_CODE, signal: 0, oomKilled: false, exitedAt: undefined },
      reason,
    );
  }

  /** Records the exit of an exec process, once, and publishes it. */
  recordExecExit(id: string, execId: string, status: types.ExitStatus): boolean {
    const rec = this.store.get(id);
    if (!rec) return false;
    const exit = exitInfoFrom(status, this.now());
    const key = exitKey(status, undefined);
    const fresh = this.store.durableTransaction(() => {
      if (!this.exits.record(id, execId, key, exit)) return false;
      this.outbox.add(
        this.exitEventId(id, execId, key),
        rec.namespace,
        'tasks.exit',
        events.TaskExit.toJSON({ containerId: id, execId, pid: 0, exitStatus: exitStatusFrom(exit) }),
      );
      return true;
    });
    if (!fresh) return false;
    this.waiters.resolve(id, execId, exit);
    void this.flushOutbox();
    return true;
  }

  /** After an exit: tear the task down, then restart by policy or finish an auto-remove. Lock held. */
  private async afterExit(id: string): Promise<void> {
    let rec = this.store.get(id);
    if (!rec || rec.phase === 'running' || rec.phase === 'paused') return;
    if (rec.phase === 'removing') {
      await this.finishRemoval(rec);
      return;
    }
    if (rec.task !== 'none') {
      try {
        rec = await this.teardownTask(rec);
      } catch (err) {
        this.logger.warn({ err, container: id }, 'tearing down an exited task failed; it is retried before the next start');
      }
    }
    if (rec.phase === 'restarting') this.scheduleRestart(rec);
  }

  // ---- restarts -------------------------------------------------------------------------------

  /** Starts the container again when its restart is due. */
  scheduleRestart(record: ContainerRecord): void {
    if (this.closed) return;
    this.cancelRestart(record.id);
    const delay = Math.max(0, (record.restartAt ?? this.now()) - this.now());
    this.logger.info({ container: record.id, delayMs: delay, restartCount: record.restartCount }, 'restart scheduled');
    const timer = setTimeout(() => {
      this.restartTimers.delete(record.id);
      this.spawn(`restarting container ${record.id}`, () => this.locks.run(record.id, () => this.fireRestart(record.id)));
    }, delay);
    this.restartTimers.set(record.id, timer);
  }

  cancelRestart(id: string): void {
    const timer = this.restartTimers.get(id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(id);
  }

  private async fireRestart(id: string): Promise<void> {
    const rec = this.store.get(id);
    if (!rec || rec.phase !== 'restarting' || this.closed) return;
    try {
      await this.startInit(rec, { byUser: false });
    } catch (err) {
      this.logger.warn({ err, container: id }, 'restart by policy failed');
      const now = this.store.get(id);
      if (!now || now.phase !== 'restarting') return;
      if (grpcCode(err) === GrpcStatus.UNAVAILABLE) {
        // A neighbour is down: keep trying with the backoff rather than give up.
        const delay = Math.min(Math.max(now.restartDelayMs * 2, this.settings.backoff.initialMs), this.settings.backoff.maxMs);
        this.scheduleRestart(this.patch(id, { restartDelayMs: delay, restartAt: this.now() + delay }));
      } else {
        // The container cannot start (e.g. its command is gone): it stays stopped, with the error recorded.
        this.patch(id, { phase: 'stopped', restartAt: undefined });
      }
    }
  }

  // ---- removal --------------------------------------------------------------------------------

  /**
   * Completes the removal of a container in phase "removing": its task and
   * node resources, writable snapshot, anonymous volumes, logs (unless kept),
   * then the record (leaving a tombstone). Throws, leaving the record in
   * "removing", when a neighbour cannot do its part.
   */
  async finishRemoval(record: ContainerRecord): Promise<void> {
    const { id, namespace } = record;
    this.cancelRestart(id);
    this.watchers.get(id)?.abort();
    let rec = record;
    const removeSnapshot = async () => {
      try {
        await this.deps.snapshots.remove(namespace, rec.snapshotter, rec.snapshotKey);
      } catch (err) {
        throw withContext(err, `cannot remove the snapshot ${rec.snapshotKey} of container ${rec.name}`);
      }
    };
    if (rec.task === 'none' && rec.netnsPath === '') await removeSnapshot();
    else if (processesGone(rec)) {
      // Nothing runs on the rootfs any more: the snapshot goes while the task is torn down
      // (its rootfs unmounted), a round trip sooner; its data is deleted in the background
      // either way. A teardown that fails leaves the record "removing", retried as ever.
      [rec] = await allSettledOrThrow([this.teardownTask(rec), removeSnapshot()]);
    } else {
      rec = await this.teardownTask(rec);
      await removeSnapshot();
    }
    this.removeAnonymousVolumes(rec);
    if (!rec.keepLogsOnRemove) rmSync(dirname(rec.logPath), { recursive: true, force: true });
    this.store.remove(id);
    this.exits.forget(id);
    this.taskChanges.delete(id);
    this.waiters.resolveAll(id, rec.exit ?? { exitCode: UNKNOWN_EXIT_CODE, signal: 0, oomKilled: false, exitedAt: this.now() });
    this.publish(namespace, 'containers.deleted', { id, name: rec.name });
    this.logger.info({ container: id, name: rec.name }, 'container removed');
  }

  /** Removes the anonymous volumes a container mounts that no other container uses. */
  private removeAnonymousVolumes(rec: ContainerRecord): void {
    const { id, namespace } = rec;
    for (const m of rec.spec.mounts) {
      if (m.type !== 'volume' || m.source === '') continue;
      const volume = this.volumes.get(namespace, m.source);
      if (volume && !volume.anonymous) continue;
      const legacy = m.source.startsWith(`${id}-`);
      if (!volume && !legacy) continue;
      const others = this.store.list(namespace).filter((r) => r.id !== id && r.spec.mounts.some((o) => o.type === 'volume' && o.source === m.source));
      if (others.length > 0) continue;
      this.volumes.remove(namespace, m.source);
      // Anonymous volumes of other namespaces lived next to the default namespace's before namespacing.
      if (legacy) rmSync(join(this.settings.stateDir, 'volumes', m.source), { recursive: true, force: true });
    }
  }

  /** Undoes a create that never finished: the snapshot, any node resources and anonymous volumes, then the record. */
  async undoCreate(record: ContainerRecord): Promise<void> {
    await this.teardownTask(record);
    try {
      await this.deps.snapshots.remove(record.namespace, record.snapshotter, record.snapshotKey);
    } catch (err) {
      throw withContext(err, `cannot remove the snapshot ${record.snapshotKey} of half-created container ${record.id}`);
    }
    rmSync(dirname(record.logPath), { recursive: true, force: true });
    this.removeAnonymousVolumes(record);
    this.store.remove(record.id);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /**
   * A mark to compare with taskChangedSince. Reconcile takes one before it
   * lists the agent's tasks: a container whose task was created or started
   * during or after the listing is missing from the list, or listed in an
   * older state, and must not be judged by it.
   */
  taskChangeMark(): number {
    return this.taskChangeSeq;
  }

  taskChangedSince(id: string, mark: number): boolean {
    return (this.taskChanges.get(id) ?? 0) > mark;
  }

  /** Runs a change of the container's agent task, noted when it begins and when it ends. */
  private async changingTask<T>(id: string, change: () => Promise<T>): Promise<T> {
    this.taskChanges.set(id, ++this.taskChangeSeq);
    try {
      return await change();
    } finally {
      this.taskChanges.set(id, ++this.taskChangeSeq);
    }
  }

  /** The stored record, which must exist (it is only removed under its lock). */
  current(id: string): ContainerRecord {
    const rec = this.store.get(id);
    if (!rec) throw new TasksError(GrpcStatus.NOT_FOUND, `container ${id} was removed meanwhile`);
    return rec;
  }

  /** store.patch for a record that must exist (it is only removed under its lock). */
  patch(id: string, fields: Partial<Omit<ContainerRecord, 'id'>>): ContainerRecord {
    const rec = this.store.patch(id, fields);
    if (!rec) throw new TasksError(GrpcStatus.NOT_FOUND, `container ${id} was removed meanwhile`);
    return rec;
  }

  /** Stops watchers and timers and waits for background work and queued events. */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.watchers.values()) controller.abort();
    for (const timer of this.restartTimers.values()) clearTimeout(timer);
    this.restartTimers.clear();
    await Promise.allSettled([...this.background]);
    await this.outboxPublisher.close();
  }
}

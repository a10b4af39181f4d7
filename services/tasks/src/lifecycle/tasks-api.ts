// The Tasks API's operations: create, start, stop, kill, delete and wait
// for tasks; exec processes; pause/resume; processes, stats, tty resize,
// live resource updates; the attach pass-through. Each resolves the
// container in its namespace and checks its state before asking the agent.
import { tasks, type types } from '@berth/api';
import { alreadyExists, failedPrecondition, grpcCode, GrpcStatus, invalidArgument, isNotFound, notFound, unavailable, withContext } from '../errors.js';
import { checkExecId, generateExecId } from '../ids.js';
import type { ContainerRecord, ExitInfo } from '../records.js';
import { parseSignal, SIGKILL, SIGTERM } from '../signals.js';
import { linuxResources } from '@berth/runtime-spec';
import { buildExecProcessFor, checkUserSpec, specInvalidArgument, userOf } from '../container-spec.js';
import { validateResources } from '../validate.js';
import type { AttachStream } from '../ports.js';
import type { ContainersApi } from './containers-api.js';
import { exitStatusFrom, UNKNOWN_EXIT_CODE } from './exit-status.js';
import type { Runtime } from './runtime.js';

const isLive = (r: ContainerRecord) => r.phase === 'running' || r.phase === 'paused';

/** The exit status to report when none was ever recorded. */
const unknownExit = (now: number): ExitInfo => ({ exitCode: UNKNOWN_EXIT_CODE, signal: 0, oomKilled: false, exitedAt: now });

/** What an attach target resolved to: a live stream, or the exit of a process that already ended. */
export type AttachOpening = { kind: 'stream'; stream: AttachStream; record: ContainerRecord } | { kind: 'exited'; exit: types.ExitStatus };

export class TasksApi {
  constructor(
    private readonly rt: Runtime,
    private readonly containers: ContainersApi,
  ) {}

  private resolve(namespace: string, ref: string): ContainerRecord {
    return this.rt.store.resolve(namespace, ref);
  }

  private requireLive(rec: ContainerRecord, what: string): void {
    if (!isLive(rec)) throw failedPrecondition(`cannot ${what}: container ${rec.name} is not running`);
  }

  /** The container's stop signal: its own, else its image's, else SIGTERM. */
  stopSignalOf(rec: ContainerRecord): number {
    const name = rec.spec.stopSignal || rec.imageConfig.StopSignal || '';
    return name === '' ? SIGTERM : parseSignal(name);
  }

  /** Sets the task up (rootfs, network, runc create) without starting it; returns the init pid. */
  async createTask(namespace: string, ref: string): Promise<number> {
    const found = this.resolve(namespace, ref);
    return this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${ref}`);
      if (rec.phase === 'removing') throw failedPrecondition(`container ${rec.name} is being removed`);
      if (isLive(rec) || rec.phase === 'restarting') {
        throw failedPrecondition(`container ${rec.name} is ${rec.phase}; its task already exists`);
      }
      if (rec.task !== 'none') {
        const task = await this.rt.agentFor(rec).getTask(rec.id).catch(() => undefined);
        if (task?.status === 'created') throw alreadyExists(`container ${rec.name} already has a task (pid ${task.pid})`);
      }
      const ready = rec.task === 'none' ? rec : await this.rt.teardownTask(rec);
      return (await this.rt.setupTask(ready)).pid;
    });
  }

  /** Starts the init process (setting the task up if needed) or a created exec process; returns its pid. */
  async startTask(namespace: string, ref: string, execId: string): Promise<number> {
    const found = this.resolve(namespace, ref);
    if (execId !== '') {
      this.requireLive(found, `start exec ${execId}`);
      let pid: number;
      try {
        pid = await this.rt.agentFor(found).startTask(found.id, execId);
      } catch (err) {
        throw withContext(err, `cannot start exec ${execId} in container ${found.name}`);
      }
      this.rt.publish(namespace, 'tasks.started', { containerId: found.id, execId, pid });
      this.rt.watchExec(found, execId);
      return pid;
    }
    return this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${ref}`);
      if (rec.phase === 'removing') throw failedPrecondition(`container ${rec.name} is being removed`);
      return this.rt.startInit(rec, { byUser: true });
    });
  }

  /**
   * Stops the container: its stop signal, up to the timeout, then SIGKILL.
   * Marks it stopped by the user, so no restart policy starts it again until
   * the next start. Stopping a container that does not run is not an error.
   */
  async stopTask(namespace: string, req: tasks.StopTaskRequest, signal?: AbortSignal): Promise<types.ExitStatus | undefined> {
    const rec = this.resolve(namespace, req.containerId);
    const stopSignal = req.signal !== '' ? parseSignal(req.signal) : this.stopSignalOf(rec);
    const timeout = req.timeoutSeconds ?? rec.spec.stopTimeoutSeconds ?? this.rt.settings.defaultStopTimeoutSeconds;
    if (timeout < -1) throw invalidArgument(`timeout_seconds: ${timeout} is invalid: use -1 to wait forever, or 0 or more`);
    if (rec.phase === 'restarting') {
      return this.rt.locks.run(rec.id, async () => {
        this.rt.cancelRestart(rec.id);
        const stopped = this.rt.patch(rec.id, { phase: 'stopped', stoppedByUser: true, restartAt: undefined });
        return stopped.exit ? exitStatusFrom(stopped.exit) : undefined;
      });
    }
    if (!isLive(rec)) {
      this.rt.store.patch(rec.id, { stoppedByUser: true });
      return rec.exit ? exitStatusFrom(rec.exit) : undefined;
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const exited = this.rt.waiters.next(rec.id, '', controller.signal);
    exited.catch(() => undefined);
    try {
      const fresh = this.rt.patch(rec.id, { stoppedByUser: true });
      if (!isLive(fresh)) return fresh.exit ? exitStatusFrom(fresh.exit) : undefined;
      const agent = this.rt.agentFor(fresh);
      const kill = async (sig: number, all: boolean) => {
        try {
          await agent.killTask(rec.id, '', sig, all);
          if (fresh.phase === 'paused') await agent.resumeTask(rec.id).catch(() => undefined);
        } catch (err) {
          if (isNotFound(err)) this.rt.recordLostExit(rec.id, `the agent of node ${fresh.nodeId} has no task for this container: exit status unknown`);
          // Not running any more: it exited meanwhile, and its exit is on its way to us.
          else if (grpcCode(err) !== GrpcStatus.FAILED_PRECONDITION) throw withContext(err, `cannot stop container ${fresh.name}`);
        }
      };
      await kill(stopSignal, false);
      let exit = timeout < 0 ? await exited : await this.within(exited, timeout * 1000);
      if (exit === undefined) {
        this.rt.logger.info({ container: rec.id, timeoutSeconds: timeout }, 'container did not stop in time; killing it');
        await kill(SIGKILL, true);
        exit = await this.within(exited, this.rt.settings.killGraceMs);
        if (exit === undefined) {
          throw unavailable(`container ${fresh.name} did not exit within ${this.rt.settings.killGraceMs} ms of SIGKILL`);
        }
      }
      return exitStatusFrom(exit);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /** The promise's value, or undefined after `ms` (the timer is cleared either way). */
  private async within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal (default SIGKILL) to the init process, an exec process, or every process. */
  async killTask(namespace: string, req: tasks.KillTaskRequest): Promise<void> {
    const sig = req.signal === '' ? SIGKILL : parseSignal(req.signal);
    const rec = this.resolve(namespace, req.containerId);
    this.requireLive(rec, `send signal ${req.signal || 'SIGKILL'}`);
    const agent = this.rt.agentFor(rec);
    // Killing with SIGKILL or the stop signal is a user stop, as in Docker: no restart follows.
    const stops = req.execId === '' && (sig === SIGKILL || sig === this.stopSignalOf(rec));
    if (stops) this.rt.store.patch(rec.id, { stoppedByUser: true });
    try {
      await agent.killTask(rec.id, req.execId, sig, req.all);
      if (stops && rec.phase === 'paused') await agent.resumeTask(rec.id).catch(() => undefined);
    } catch (err) {
      throw withContext(err, `cannot signal ${req.execId === '' ? 'container' : `exec ${req.execId} in container`} ${rec.name}`);
    }
  }

  /** Removes an exited task (or exec process) and returns its exit status; `force` kills it first. */
  async deleteTask(namespace: string, req: tasks.DeleteTaskRequest): Promise<types.ExitStatus> {
    const found = this.resolve(namespace, req.containerId);
    const agent = this.rt.agentFor(found);
    if (req.execId !== '') {
      let status: types.ExitStatus | undefined;
      try {
        status = await agent.deleteTask(found.id, req.execId, req.force);
      } catch (err) {
        if (!isNotFound(err)) throw withContext(err, `cannot delete exec ${req.execId} of container ${found.name}`);
      }
      if (status) this.rt.recordExecExit(found.id, req.execId, status);
      const exit = this.rt.exits.last(found.id, req.execId);
      if (!exit) throw notFound(`container ${found.name} has no exec process ${req.execId}`);
      const result = exitStatusFrom(exit);
      this.rt.publish(namespace, 'tasks.deleted', { containerId: found.id, execId: req.execId, exitStatus: result });
      return result;
    }
    return this.rt.locks.run(found.id, async () => {
      let rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${req.containerId}`);
      if (isLive(rec) || rec.phase === 'restarting') {
        if (!req.force) {
          throw failedPrecondition(`cannot delete the task of container ${rec.name}: it is ${rec.phase}; stop it first or force`);
        }
        this.rt.cancelRestart(rec.id);
        if (isLive(rec)) await this.containers.killAndWait(rec);
        rec = this.rt.patch(rec.id, { phase: 'stopped', restartAt: undefined, stoppedByUser: true });
      }
      if (rec.task === 'none' && !rec.exit) throw notFound(`container ${rec.name} has no task`);
      let agentStatus: types.ExitStatus | undefined;
      if (rec.task !== 'none') {
        agentStatus = await agent.deleteTask(rec.id, '', false).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw withContext(err, `cannot delete the task of container ${rec!.name}`);
        });
        rec = await this.rt.teardownTask(rec);
      }
      const result = rec.exit ? exitStatusFrom(rec.exit) : (agentStatus ?? exitStatusFrom(unknownExit(this.rt.now())));
      this.rt.publish(namespace, 'tasks.deleted', { containerId: rec.id, execId: '', exitStatus: result });
      return result;
    });
  }

  /**
   * Waits for the init process (or an exec) to exit. A container that is not
   * running answers its last exit at once; one created but never started is
   * waited for.
   */
  async waitTask(namespace: string, ref: string, execId: string, signal?: AbortSignal): Promise<types.ExitStatus> {
    const rec = this.resolve(namespace, ref);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Wait first, then look: an exit recorded in between is not missed.
      const exited = this.rt.waiters.next(rec.id, execId, controller.signal);
      exited.catch(() => undefined);
      if (execId !== '') {
        const done = this.rt.exits.last(rec.id, execId);
        if (done) return exitStatusFrom(done);
        const task = await this.rt.agentFor(rec).getTask(rec.id).catch((err: unknown) => {
          throw withContext(err, `cannot reach the agent of node ${rec.nodeId}`);
        });
        if (!task?.execIds.includes(execId)) throw notFound(`container ${rec.name} has no exec process ${execId}`);
        this.rt.watchExec(rec, execId);
        return exitStatusFrom(await exited);
      }
      const fresh = this.rt.store.get(rec.id);
      if (!fresh) throw notFound(`no such container: ${ref}`);
      if (isLive(fresh) || fresh.phase === 'created' || fresh.phase === 'removing') {
        return exitStatusFrom(await exited);
      }
      return exitStatusFrom(fresh.exit ?? unknownExit(this.rt.now()));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /** Creates an exec process in a running container; StartTask with its id starts it. */
  async execProcess(namespace: string, req: tasks.ExecProcessRequest): Promise<string> {
    const rec = this.resolve(namespace, req.containerId);
    if (rec.phase === 'paused') throw failedPrecondition(`container ${rec.name} is paused; resume it before exec`);
    if (rec.phase !== 'running') throw failedPrecondition(`cannot exec in container ${rec.name}: it is not running`);
    const opts = req.process;
    if (!opts) throw invalidArgument('process: missing');
    const execId = req.execId === '' ? generateExecId() : checkExecId(req.execId);
    // Without -u the exec runs as the container does; either way the agent resolves the names in the rootfs.
    if (opts.user !== '') checkUserSpec(opts.user, 'process.user');
    const process = buildExecProcessFor(rec.runtimeSpec.process, opts);
    try {
      await this.rt.agentFor(rec).execProcess({
        containerId: rec.id,
        execId,
        process,
        stdio: { terminal: opts.tty, stdin: opts.openStdin, logPath: '', logMaxBytes: 0, logMaxFiles: 0 },
        user: opts.user || userOf(rec.spec, rec.imageConfig),
        privileged: opts.privileged || rec.spec.privileged,
      });
    } catch (err) {
      throw withContext(err, `cannot create exec ${execId} in container ${rec.name}`);
    }
    return execId;
  }

  async pauseTask(namespace: string, ref: string): Promise<void> {
    const found = this.resolve(namespace, ref);
    await this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id) ?? found;
      if (rec.phase === 'paused') throw failedPrecondition(`container ${rec.name} is already paused`);
      if (rec.phase !== 'running') throw failedPrecondition(`cannot pause container ${rec.name}: it is not running`);
      await this.rt.agentFor(rec).pauseTask(rec.id).catch((err: unknown) => {
        throw withContext(err, `cannot pause container ${rec.name}`);
      });
      this.rt.patch(rec.id, { phase: 'paused' });
      this.rt.publish(namespace, 'tasks.paused', { containerId: rec.id });
    });
  }

  async resumeTask(namespace: string, ref: string): Promise<void> {
    const found = this.resolve(namespace, ref);
    await this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id) ?? found;
      if (rec.phase !== 'paused') throw failedPrecondition(`cannot resume container ${rec.name}: it is not paused`);
      await this.rt.agentFor(rec).resumeTask(rec.id).catch((err: unknown) => {
        throw withContext(err, `cannot resume container ${rec.name}`);
      });
      this.rt.patch(rec.id, { phase: 'running' });
      this.rt.publish(namespace, 'tasks.resumed', { containerId: rec.id });
    });
  }

  async listProcesses(namespace: string, ref: string): Promise<types.ProcessInfo[]> {
    const rec = this.resolve(namespace, ref);
    this.requireLive(rec, 'list processes');
    return this.rt.agentFor(rec).listPids(rec.id).catch((err: unknown) => {
      throw withContext(err, `cannot list the processes of container ${rec.name}`);
    });
  }

  /** One sample per container asked for (every running one when none is named), in the order asked. */
  async stats(namespace: string, refs: readonly string[]): Promise<types.TaskStats[]> {
    const records = refs.length === 0 ? this.rt.store.list(namespace).filter(isLive) : refs.map((r) => this.resolve(namespace, r));
    for (const rec of records) this.requireLive(rec, 'sample stats');
    return Promise.all(
      records.map(async (rec) => {
        const stats = await this.rt.agentFor(rec).stats(rec.id).catch((err: unknown) => {
          throw withContext(err, `cannot sample the stats of container ${rec.name}`);
        });
        return { ...stats, containerId: rec.id };
      }),
    );
  }

  async resizePty(namespace: string, req: tasks.ResizePtyRequest): Promise<void> {
    const size = req.size;
    if (!size || size.width === 0 || size.height === 0) throw invalidArgument('size: width and height must both be positive');
    const rec = this.resolve(namespace, req.containerId);
    this.requireLive(rec, 'resize the terminal');
    if (req.execId === '' && !rec.spec.tty) throw failedPrecondition(`container ${rec.name} has no terminal (created without tty)`);
    await this.rt.agentFor(rec).resizePty(rec.id, req.execId, size).catch((err: unknown) => {
      throw withContext(err, `cannot resize the terminal of container ${rec.name}`);
    });
  }

  /** Replaces the container's resources: applied live when it runs, recorded always. */
  async updateTask(namespace: string, req: tasks.UpdateTaskRequest): Promise<void> {
    const resources = req.resources;
    if (!resources) throw invalidArgument('resources: missing');
    validateResources(resources, this.rt.settings.host);
    const found = this.resolve(namespace, req.containerId);
    await this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id) ?? found;
      const oci = specInvalidArgument(() => linuxResources(resources, { swapAccounting: this.rt.settings.host.swapAccounting }));
      if (isLive(rec)) {
        await this.rt.agentFor(rec).updateResources(rec.id, oci).catch((err: unknown) => {
          throw withContext(err, `cannot update the resources of container ${rec.name}`);
        });
      }
      const runtimeSpec = structuredClone(rec.runtimeSpec);
      runtimeSpec.linux.resources = { devices: rec.runtimeSpec.linux.resources?.devices ?? [], ...oci };
      this.rt.patch(rec.id, { spec: { ...rec.spec, resources }, runtimeSpec });
    });
  }

  /**
   * Opens the attach pass-through: the agent's stream for a live process, or
   * the exit status of one that already ended.
   */
  async openAttach(namespace: string, target: tasks.AttachTarget): Promise<AttachOpening> {
    const rec = this.resolve(namespace, target.containerId);
    if (target.execId !== '') {
      const done = this.rt.exits.last(rec.id, target.execId);
      if (done) return { kind: 'exited', exit: exitStatusFrom(done) };
      this.requireLive(rec, `attach to exec ${target.execId}`);
    } else if (rec.task !== 'present') {
      if (rec.exit) return { kind: 'exited', exit: exitStatusFrom(rec.exit) };
      throw failedPrecondition(`cannot attach to container ${rec.name}: it has no task (start or create its task first)`);
    }
    if (target.stdin && target.execId === '' && !rec.spec.openStdin) {
      throw failedPrecondition(`cannot attach stdin to container ${rec.name}: it was created without open_stdin (-i)`);
    }
    const stream = this.rt.agentFor(rec).attach();
    stream.send({ frame: { $case: 'target', value: { ...target, containerId: rec.id, awaitCreate: false } } });
    return { kind: 'stream', stream: target.execId === '' ? this.recordingExit(stream, rec.id) : stream, record: rec };
  }

  /**
   * Opens the attach pass-through to the init process of a container whose
   * task is about to be created (a run): the agent connects it the moment
   * its create is done, so starting need not wait for a round trip between
   * the create and the attach. A create that fails ends it (or cancel it).
   */
  attachWhileCreating(rec: ContainerRecord, streams: { stdin: boolean; stdout: boolean; stderr: boolean }): AttachStream {
    if (streams.stdin && !rec.spec.openStdin) {
      throw failedPrecondition(`cannot attach stdin to container ${rec.name}: it was created without open_stdin (-i)`);
    }
    const stream = this.rt.agentFor(rec).attach();
    stream.send({ frame: { $case: 'target', value: { ...streams, containerId: rec.id, execId: '', awaitCreate: true } } });
    return this.recordingExit(stream, rec.id);
  }

  /**
   * The stream, recording the init's exit from its exit frame. The agent
   * sends that frame the moment the process ends, ahead of its exit report
   * on the bus and of a WaitTask watch begun after a quick exit, so the
   * teardown (of a `run --rm`) starts sooner. Recording is idempotent: the
   * first of the three to arrive counts. Before the frame is passed on, so
   * that whoever reads it (RunContainer's removal) finds the exit recorded.
   */
  private recordingExit(stream: AttachStream, id: string): AttachStream {
    const { rt } = this;
    return {
      connected: stream.connected,
      send: (frame) => stream.send(frame),
      end: () => stream.end(),
      cancel: () => stream.cancel(),
      async *[Symbol.asyncIterator]() {
        for await (const msg of stream) {
          if (msg.frame?.$case === 'exit') {
            // As for the agent's report: a start still being recorded (an attach before
            // `start`, a process that exits at once) first records its run, then its exit.
            await rt.startSettled(id);
            try {
              rt.recordInitExit(id, msg.frame.value);
            } catch (err) {
              rt.logger.warn({ err, container: id }, "recording the exit seen on the attach stream failed; the agent's report records it");
            }
          }
          yield msg;
        }
      },
    };
  }
}

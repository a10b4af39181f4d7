// Exec sessions: extra processes in a running container, each under its own
// conmon (`conmon --exec`), so they too outlive the agent and leave their
// exit code in a file. A session lives in <container state>/execs/<exec-id>/,
// which doubles as conmon's "bundle" (its ctl fifo and attach socket).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { withUser, type OciProcess, type OciSpec, type ResolvedUser } from '@berth/runtime-spec';
import { writeFileAtomic } from '@berth/store';
import { ContainerError, errnoCode } from '../errors.js';
import { parseLogRecord } from '../logs/k8s-log.js';
import { writeControl } from '../logs/rotate.js';
import { attachSocket, type AttachSession, type BridgePool } from './attach.js';
import { resizeMessage, type TerminalSize } from './checks.js';
import { awaitConmonStart, meaningfulStderr, spawnConmon, type ConmonProcess, type SyncMessage } from './conmon.js';
import { classifyExecFailure } from './exec-errors.js';
import { checkedExecProcess, execProcessFrom } from './exec-process.js';
import { readConmonExit, type ExitStatus } from './exit-status.js';
import { resolveRunAs, withAllCapabilities } from './node-spec.js';
import { parseSignal } from './signals.js';
import { containerPaths, execPaths, validateId, type RuntimeLayout } from './layout.js';
import { isMonitorAlive, readPidFile } from './proc.js';
import type { ContainerRecord } from './record.js';
import { extractRuncMessage } from './runc.js';
import type { ExecOptions, ExecResult, ExecSession, ExecState } from './types.js';
import { waitFor } from './wait-for.js';

export interface ExecSessionsDeps {
  layout: RuntimeLayout;
  conmonPath: string;
  runtimePath: string;
  bridges: BridgePool;
  pollMs: number;
  startTimeoutMs: number;
  /** The record of `id` if it is running; throws NOT_FOUND / NOT_RUNNING otherwise. */
  runningContainer(id: string): Promise<ContainerRecord>;
}

export class ExecSessions {
  constructor(private readonly deps: ExecSessionsDeps) {}

  /** Starts an extra process in a running container. */
  async start(id: string, opts: ExecOptions): Promise<ExecSession> {
    validateId(id);
    const execId = opts.execId ?? randomBytes(6).toString('hex');
    validateId(execId, 'exec id');
    const record = await this.deps.runningContainer(id);
    const processSpec = await this.processFor(record, opts);

    const ep = execPaths(this.deps.layout, id, execId);
    await mkdir(containerPaths(this.deps.layout, id).execsDir, { recursive: true });
    try {
      await mkdir(ep.dir);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new ContainerError('ALREADY_EXISTS', `exec ${execId} already exists in ${id}`, { containerId: id });
      throw err;
    }
    await mkdir(ep.exitDir);
    // runc reads it once, now: no fsync.
    writeFileAtomic(ep.processSpec, JSON.stringify(processSpec), 0o600, { durable: false });
    const attach = opts.attach === true;
    const conmon = spawnConmon({
      conmonPath: this.deps.conmonPath,
      runtimePath: this.deps.runtimePath,
      runtimeRoot: this.deps.layout.runcRoot,
      containerId: id,
      cuuid: ep.cuuid,
      bundle: ep.dir,
      containerPidFile: ep.pid,
      conmonPidFile: ep.conmonPid,
      exitDir: ep.exitDir,
      socketDir: this.deps.layout.attachDir,
      logPath: ep.log,
      terminal: opts.tty === true,
      stdin: opts.stdin === true,
      leaveStdinOpen: false,
      exec: { processSpec: ep.processSpec, attach },
      cwd: ep.dir,
    });

    let session: AttachSession | undefined;
    let msg: SyncMessage;
    try {
      if (attach) session = await this.attachBeforeStart(conmon, ep.dir, opts.stdin === true);
      msg = await awaitConmonStart(conmon, `exec ${execId} in container ${id}`, this.deps.startTimeoutMs);
    } catch (err) {
      session?.detach();
      await this.remove(id, execId);
      throw new ContainerError('RUNTIME_FAILED', `cannot exec in container ${id}: ${(err as Error).message}`, { containerId: id, cause: err });
    }
    if (msg.data <= 0) {
      session?.detach();
      await this.remove(id, execId);
      const message = extractRuncMessage(msg.message ?? '') || 'no message';
      const failure = classifyExecFailure(message);
      if (failure) {
        throw new ContainerError(failure.kind === 'not-found' ? 'COMMAND_NOT_FOUND' : 'COMMAND_NOT_EXECUTABLE', `exec in ${id}: ${message}`, {
          containerId: id,
          exitCode: failure.exitCode,
        });
      }
      throw new ContainerError('RUNTIME_FAILED', `cannot exec in container ${id}: ${message}`, { containerId: id });
    }
    return {
      execId,
      pid: msg.data,
      logPath: ep.log,
      attach: session,
      wait: (signal?: AbortSignal) => this.wait(id, execId, signal),
    };
  }

  /**
   * The process an exec runs: the caller's (checked) or one built from the
   * container's config.json, as `opts.user` when given (resolved in the
   * container's rootfs). Throws INVALID_ARGUMENT for bad options or users.
   */
  async processFor(record: ContainerRecord, opts: ExecOptions): Promise<OciProcess> {
    const user = opts.user === undefined ? undefined : await this.resolveUser(record, opts.user);
    let process: OciProcess;
    if (opts.process !== undefined) {
      process = checkedExecProcess(opts.process, opts.tty === true);
      if (user) process = withUser(process, user);
    } else {
      const config = JSON.parse(await readFile(join(record.bundle, 'config.json'), 'utf8')) as OciSpec;
      if (!config.process) throw new ContainerError('RUNTIME_FAILED', `container ${record.id}: config.json has no process`, { containerId: record.id });
      process = execProcessFrom(config.process, opts, user);
    }
    return opts.privileged ? withAllCapabilities(process) : process;
  }

  private resolveUser(record: ContainerRecord, user: string): Promise<ResolvedUser> {
    return resolveRunAs(record.id, record.rootfs, user, `exec in ${record.id}`);
  }

  /**
   * The attached-exec handshake (--exec-attach): release conmon's fork, wait
   * until it announces the attach socket, connect, then release the exec, so
   * no output is produced before the client listens.
   */
  private async attachBeforeStart(conmon: ConmonProcess, dir: string, stdin: boolean): Promise<AttachSession> {
    if (!conmon.startPipe || !conmon.attachPipe) throw new Error('conmon was not started for attach');
    conmon.startPipe.write('0');
    const ready = await conmon.attachPipe.next();
    if (!ready || ready.data !== 0) {
      throw new Error(`conmon did not open the attach socket: ${ready?.message || meaningfulStderr(conmon.stderr()) || 'no message'}`);
    }
    const session = await attachSocket(dir, { stdin, bridges: this.deps.bridges });
    conmon.startPipe.write('1');
    return session;
  }

  /** Resolves with the exit status of the session's process (from conmon's exit file). */
  async wait(id: string, execId: string, signal?: AbortSignal): Promise<ExitStatus> {
    validateId(id);
    validateId(execId, 'exec id');
    const ep = execPaths(this.deps.layout, id, execId);
    try {
      await stat(ep.dir);
    } catch {
      throw new ContainerError('NOT_FOUND', `no exec ${execId} in container ${id}`, { containerId: id });
    }
    return waitFor(
      async () => {
        const exit = await readConmonExit([ep.exitFile], undefined);
        if (exit) return exit;
        if (await isMonitorAlive(await readPidFile(ep.conmonPid), ep.cuuid)) return undefined;
        const late = await readConmonExit([ep.exitFile], undefined);
        if (late) return late;
        throw new ContainerError('EXIT_UNKNOWN', `exec ${execId} in ${id}: its monitor ended without recording an exit code`, { containerId: id });
      },
      { dir: ep.exitDir, pollMs: this.deps.pollMs, ...(signal ? { signal } : {}) },
    );
  }

  /** The session's state, or undefined when no session `execId` was started in `id`. */
  async state(id: string, execId: string): Promise<ExecState | undefined> {
    validateId(id);
    validateId(execId, 'exec id');
    const ep = execPaths(this.deps.layout, id, execId);
    try {
      await stat(ep.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const exit = await readConmonExit([ep.exitFile], undefined);
    const pid = await readPidFile(ep.pid).catch(() => undefined);
    const withPid = pid !== undefined ? { pid } : {};
    if (exit) return { execId, status: 'stopped', exit, ...withPid };
    if (await isMonitorAlive(await readPidFile(ep.conmonPid).catch(() => undefined), ep.cuuid)) {
      return { execId, status: 'running', ...withPid };
    }
    // The monitor is gone: it either just wrote the exit code (read it again) or died without one.
    const late = await readConmonExit([ep.exitFile], undefined);
    return late ? { execId, status: 'stopped', exit: late, ...withPid } : { execId, status: 'stopped', ...withPid };
  }

  /** Ids of the sessions started in `id` (running or exited, until removed). */
  async list(id: string): Promise<string[]> {
    const dir = containerPaths(this.deps.layout, id).execsDir;
    return (await readdir(dir).catch(() => [] as string[])).sort();
  }

  /** Sends `signal` to the session's process (runc kill only reaches a container's init). */
  async kill(id: string, execId: string, signal: string | number): Promise<void> {
    const sig = parseSignal(signal);
    const st = await this.state(id, execId);
    if (!st) throw new ContainerError('NOT_FOUND', `no exec ${execId} in container ${id}`, { containerId: id });
    if (st.status !== 'running' || st.pid === undefined) {
      throw new ContainerError('NOT_RUNNING', `exec ${execId} in container ${id} is not running`, { containerId: id });
    }
    try {
      process.kill(st.pid, sig);
    } catch (err) {
      if (errnoCode(err) === 'ESRCH') throw new ContainerError('NOT_RUNNING', `exec ${execId} in container ${id} is not running`, { containerId: id });
      throw new ContainerError('RUNTIME_FAILED', `cannot signal exec ${execId} in ${id}: ${(err as Error).message}`, { containerId: id, cause: err });
    }
  }

  /** Connects to a running session's stdio through its conmon. */
  async attach(id: string, execId: string, opts: { stdin?: boolean } = {}): Promise<AttachSession> {
    const st = await this.state(id, execId);
    if (!st) throw new ContainerError('NOT_FOUND', `no exec ${execId} in container ${id}`, { containerId: id });
    if (st.status !== 'running') throw new ContainerError('NOT_RUNNING', `cannot attach to exec ${execId} in ${id}: it is ${st.status}`, { containerId: id });
    try {
      return await attachSocket(execPaths(this.deps.layout, id, execId).dir, { stdin: opts.stdin === true, bridges: this.deps.bridges });
    } catch (err) {
      throw new ContainerError('RUNTIME_FAILED', (err as Error).message, { containerId: id, cause: err });
    }
  }

  async resize(id: string, execId: string, size: TerminalSize): Promise<void> {
    validateId(id);
    validateId(execId, 'exec id');
    const line = resizeMessage(size, id);
    if (!(await writeControl(join(execPaths(this.deps.layout, id, execId).dir, 'ctl'), line))) {
      throw new ContainerError('NOT_RUNNING', `cannot resize exec ${execId} in ${id}: its monitor is not running`, { containerId: id });
    }
  }

  /** Removes a session's files; a process still running is killed first. */
  async remove(id: string, execId: string): Promise<void> {
    validateId(id);
    validateId(execId, 'exec id');
    const ep = execPaths(this.deps.layout, id, execId);
    const monitor = await readPidFile(ep.conmonPid).catch(() => undefined);
    if (await isMonitorAlive(monitor, ep.cuuid)) {
      const pid = await readPidFile(ep.pid).catch(() => undefined);
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await rm(ep.attachLink, { force: true });
    await rm(ep.dir, { recursive: true, force: true });
  }

  /** Kills the monitors of every session of a container being deleted. */
  async killAll(id: string): Promise<void> {
    const dir = containerPaths(this.deps.layout, id).execsDir;
    for (const execId of await readdir(dir).catch(() => [] as string[])) {
      const ep = execPaths(this.deps.layout, id, execId);
      const pid = await readPidFile(ep.conmonPid).catch(() => undefined);
      if (pid !== undefined && (await isMonitorAlive(pid, ep.cuuid))) process.kill(pid, 'SIGKILL');
      await rm(ep.attachLink, { force: true });
    }
  }

  /** Runs a command to completion and returns its exit code and output; the session is removed after. */
  async run(id: string, opts: Omit<ExecOptions, 'attach' | 'stdin'>): Promise<ExecResult> {
    const session = await this.start(id, opts);
    try {
      const exit = await session.wait();
      const text = await readFile(session.logPath, 'utf8').catch(() => '');
      let stdout = '';
      let stderr = '';
      for (const line of text.split('\n')) {
        const r = parseLogRecord(line);
        if (!r) continue;
        const piece = r.partial ? r.text : `${r.text}\n`;
        if (r.stream === 'stderr') stderr += piece;
        else stdout += piece;
      }
      return { exitCode: exit.exitCode, stdout, stderr };
    } finally {
      await this.remove(id, session.execId);
    }
  }
}

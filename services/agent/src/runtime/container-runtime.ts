// ContainerRuntime: containers on runc, each watched by its own conmon.
//
// The agent holds no container state in memory. A container is its state
// directory (see layout.ts): the record written at create, conmon's pid and
// exit files, and runc's own state under the private runc root. Any instance
// pointed at the same root sees the same containers, so a restarted agent
// simply calls recover() and carries on; containers keep running meanwhile
// because conmon, not the agent, is their parent.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { removeTempLeftovers, writeFileAtomic } from '@berth/store';
import { containerCgroupFromPath, containerCgroupFromProc, readCgroupSystem, type CgroupSystem } from '../cgroups/layout.js';
import { readCgroupStats, type CgroupStats } from '../cgroups/stats.js';
import { ContainerError, errnoCode, isContainerError, MountError } from '../errors.js';
import { parseLogRecord } from '../logs/k8s-log.js';
import { rotateIfNeeded, writeControl } from '../logs/rotate.js';
import { mountAll, mountsUnder, unmountAll, type MountSpec, type MountTools } from '../mounts.js';
import { SpecError } from '../spec/errors.js';
import type { RuntimeSpec, SpecProcess } from '../spec/types.js';
import { resolveUser } from '../spec/user.js';
import { attachSocket, type AttachSession } from './attach.js';
import { meaningfulStderr, spawnConmon, type ConmonLaunch, type ConmonProcess, type SyncMessage } from './conmon.js';
import { classifyExecFailure } from './exec-errors.js';
import { buildExecProcess } from './exec-process.js';
import {
  exitStatusFromCode,
  readConmonExit,
  readSealedExit,
  sealExit,
  type ExitStatus,
} from './exit-status.js';
import { containerPaths, execPaths, runtimeLayout, validateId, type ContainerPaths, type RuntimeLayout } from './layout.js';
import { isMonitorAlive, readPidFile } from './proc.js';
import { readRecord, writeRecord, type ContainerRecord } from './record.js';
import { extractRuncMessage, isNotExistMessage, Runc, RuncError, type RuncState } from './runc.js';
import { parseSignal } from './signals.js';
import { sleep, waitFor } from './wait-for.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** Host pid of the container's init process, while it lives. */
  pid?: number;
  /** Host pid of the container's conmon, while it lives. */
  monitorPid?: number;
  bundle: string;
  rootfs: string;
  tty: boolean;
  stdin: boolean;
  logPath: string;
  createdAt: string;
  /** Set once stopped, when the exit code is known. */
  exit?: ExitStatus;
  /** Why a stopped container has no exit status. */
  error?: string;
}

export interface CreateOptions {
  /** An existing bundle directory; default: one inside the container's state dir. */
  bundle?: string;
  /** The OCI runtime spec; written atomically to <bundle>/config.json. process.terminal follows `tty`. */
  spec: RuntimeSpec;
  /** Mounted (in order) onto <bundle>/<root.path> before create, unmounted at delete. */
  rootfsMounts?: MountSpec[];
  /** Give the process a terminal (conmon holds the pty master). Default: spec.process.terminal. */
  tty?: boolean;
  /** Keep the process' stdin open for attach. */
  stdin?: boolean;
  /** Close stdin when the first attached client detaches (docker run -i). Default true. */
  stdinOnce?: boolean;
  /** The k8s-file log; default <state dir>/container.log. */
  logPath?: string;
  /** Rotate the log at this many bytes (0 = never; the default). See logs/rotate.ts. */
  logMaxSize?: number;
  /** Log files kept by rotation, the live one included; default 3. */
  logMaxFiles?: number;
}

export interface ExecOptions {
  args: string[];
  /** KEY=VALUE, added to (or replacing) the container's env. */
  env?: string[];
  cwd?: string;
  /** As `docker exec -u`: "name", "uid", "name:group", "uid:gid"; resolved in the container's rootfs. */
  user?: string;
  tty?: boolean;
  /** Keep stdin open (needs attach to feed it). */
  stdin?: boolean;
  /** Attach to the session's stdio before the process starts (no output is missed). */
  attach?: boolean;
  /** Default: random. */
  execId?: string;
}

export interface ExecSession {
  execId: string;
  /** Host pid of the exec'd process. */
  pid: number;
  /** The session's k8s-file log (stdout and stderr records). */
  logPath: string;
  /** Present when ExecOptions.attach was set. */
  attach: AttachSession | undefined;
  wait(signal?: AbortSignal): Promise<ExitStatus>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RecoverReport {
  /** Containers found, with their state now (running ones still run). */
  containers: ContainerState[];
  /** State dirs of creates that never completed, removed. */
  removedIncomplete: string[];
  /** runc containers without a state dir, force-deleted. */
  removedOrphans: string[];
}

/** Minimal pino-compatible logger. */
export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ContainerRuntimeOptions {
  /** The agent's state root; containers live under <root>/containers. */
  root: string;
  /** Default /usr/sbin/runc. */
  runtimePath?: string;
  /** Default /usr/bin/conmon. */
  conmonPath?: string;
  /** runc --root; default <root>/runc. */
  runtimeRoot?: string;
  /** Runs the attach bridge; default /usr/bin/perl. */
  perlPath?: string;
  mountTools?: MountTools;
  logger?: RuntimeLogger;
  /** How long runc create/exec may take before the agent gives up; default 60 s. */
  startTimeoutMs?: number;
  /** Poll interval backing inotify when waiting for exits; default 500 ms. */
  pollMs?: number;
  /** How long delete waits for the monitor to record the exit; default 10 s. */
  stopTimeoutMs?: number;
  /** Cgroup layout override (tests); default read from /proc/self/mountinfo. */
  cgroupSystem?: CgroupSystem;
}

const NOOP_LOGGER: RuntimeLogger = { info: () => undefined, warn: () => undefined };

export class ContainerRuntime {
  readonly layout: RuntimeLayout;
  private readonly runc: Runc;
  private readonly conmonPath: string;
  private readonly runtimePath: string;
  private readonly perlPath: string;
  private readonly mountTools: MountTools;
  private readonly logger: RuntimeLogger;
  private readonly startTimeoutMs: number;
  private readonly pollMs: number;
  private readonly stopTimeoutMs: number;
  private cgroups: CgroupSystem | undefined;
  private readonly locks = new Map<string, Promise<unknown>>();
  private dirsReady: Promise<void> | undefined;

  constructor(opts: ContainerRuntimeOptions) {
    if (!isAbsolute(opts.root)) throw new ContainerError('INVALID_ARGUMENT', `state root must be absolute, got ${opts.root}`);
    this.layout = runtimeLayout(opts.root, opts.runtimeRoot);
    this.runtimePath = opts.runtimePath ?? '/usr/sbin/runc';
    this.conmonPath = opts.conmonPath ?? '/usr/bin/conmon';
    this.perlPath = opts.perlPath ?? '/usr/bin/perl';
    this.runc = new Runc({ path: this.runtimePath, root: this.layout.runcRoot });
    this.mountTools = opts.mountTools ?? {};
    this.logger = opts.logger ?? NOOP_LOGGER;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 500;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    this.cgroups = opts.cgroupSystem;
  }

  // ---------------------------------------------------------------- create

  async create(id: string, opts: CreateOptions): Promise<ContainerState> {
    validateId(id);
    validateCreateOptions(opts);
    await this.ensureDirs();
    return this.withLock(id, async () => {
      const paths = containerPaths(this.layout, id);
      if (await this.runc.state(id)) {
        throw new ContainerError('ALREADY_EXISTS', `container ${id} already exists in runc (root ${this.layout.runcRoot})`, { containerId: id });
      }
      try {
        await mkdir(paths.dir);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw new ContainerError('ALREADY_EXISTS', `container ${id} already exists`, { containerId: id });
        throw err;
      }
      let mountedRootfs: string | undefined;
      let record: ContainerRecord | undefined;
      try {
        await rm(paths.exitFile, { force: true });
        await rm(paths.attachLink, { force: true });
        const bundle = opts.bundle === undefined ? paths.defaultBundle : resolve(opts.bundle);
        if (opts.bundle === undefined) await mkdir(bundle);
        else await requireDirectory(bundle, 'bundle');
        const tty = opts.tty ?? opts.spec.process?.terminal === true;
        const spec: RuntimeSpec = { ...opts.spec, process: { ...(opts.spec.process as SpecProcess), terminal: tty } };
        const rootfs = resolve(bundle, spec.root?.path ?? 'rootfs');
        const rootfsMounts = opts.rootfsMounts ?? [];
        if (rootfsMounts.length > 0) {
          mountedRootfs = rootfs;
          await mountAll(rootfsMounts, rootfs, this.mountTools);
        } else {
          await requireDirectory(rootfs, 'rootfs');
        }
        await checkBindSources(spec);
        writeFileAtomic(join(bundle, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`, 0o600);
        await mkdir(paths.persistDir);
        record = {
          version: 1,
          id,
          bundle,
          ownsBundle: opts.bundle === undefined,
          rootfs,
          rootfsMounts,
          tty,
          stdin: opts.stdin === true,
          stdinOnce: opts.stdinOnce !== false,
          logPath: resolve(opts.logPath ?? paths.defaultLog),
          logMaxSize: opts.logMaxSize ?? 0,
          logMaxFiles: opts.logMaxFiles ?? 3,
          cgroupsPath: spec.linux?.cgroupsPath,
          createdAt: new Date().toISOString(),
        };
        await mkdir(resolve(record.logPath, '..'), { recursive: true });
        writeRecord(paths.record, record);
      } catch (err) {
        await this.discard(id, paths, record, mountedRootfs);
        if (err instanceof MountError) throw new ContainerError('INVALID_ARGUMENT', `container ${id}: ${err.message}`, { containerId: id, cause: err });
        throw err;
      }

      const launch = this.containerLaunch(record, paths);
      let failure: { message: string } | undefined;
      try {
        const msg = await this.awaitStart(spawnConmon(launch), `create of container ${id}`);
        if (msg.data <= 0) failure = { message: extractRuncMessage(msg.message ?? '') || 'no message' };
      } catch (err) {
        failure = { message: err instanceof Error ? err.message : String(err) };
      }
      if (failure) {
        const message = failure.message;
        await this.runc.delete(id, true).catch(() => undefined);
        const exec = classifyExecFailure(message);
        if (exec) {
          // Like Docker: the container stays, stopped with exit code 127/126,
          // until deleted; the exit is sealed so wait/state/delete report it.
          sealExit(paths.sealedExit, exitStatusFromCode(exec.exitCode, false, new Date(), message));
          throw new ContainerError(
            exec.kind === 'not-found' ? 'COMMAND_NOT_FOUND' : 'COMMAND_NOT_EXECUTABLE',
            `container ${id}: ${message}`,
            { containerId: id, exitCode: exec.exitCode },
          );
        }
        await this.discard(id, paths, record, mountedRootfs);
        throw new ContainerError('RUNTIME_FAILED', `cannot create container ${id}: ${message}`, { containerId: id });
      }
      this.logger.info({ containerId: id }, 'container created');
      return this.stateOf(record, await this.runc.state(id));
    });
  }

  private containerLaunch(record: ContainerRecord, paths: ContainerPaths): ConmonLaunch {
    return {
      conmonPath: this.conmonPath,
      runtimePath: this.runtimePath,
      runtimeRoot: this.layout.runcRoot,
      containerId: record.id,
      cuuid: record.id,
      bundle: record.bundle,
      containerPidFile: paths.containerPid,
      conmonPidFile: paths.conmonPid,
      exitDir: this.layout.exitsDir,
      persistDir: paths.persistDir,
      socketDir: this.layout.attachDir,
      logPath: record.logPath,
      terminal: record.tty,
      stdin: record.stdin,
      leaveStdinOpen: !record.stdinOnce,
      cwd: paths.dir,
    };
  }

  /** Waits for conmon's first sync message (the pid, or runc's error). */
  private async awaitStart(conmon: ConmonProcess, what: string): Promise<SyncMessage> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${this.startTimeoutMs} ms`)), this.startTimeoutMs);
      });
      const msg = await Promise.race([conmon.sync.next(), timeout]);
      if (msg === undefined) {
        // Give conmon's first process a moment to flush its stderr.
        await sleep(50);
        throw new Error(`conmon exited without reporting: ${meaningfulStderr(conmon.stderr()) || 'no output'}`);
      }
      return msg;
    } finally {
      if (timer) clearTimeout(timer);
      conmon.release();
    }
  }

  /** Undoes a create that failed (or crashed) before its process ran. */
  private async discard(id: string, paths: ContainerPaths, record: ContainerRecord | undefined, mountedRootfs: string | undefined): Promise<void> {
    const pid = await readPidFile(paths.conmonPid).catch(() => undefined);
    if (pid !== undefined && (await isMonitorAlive(pid, id))) process.kill(pid, 'SIGKILL');
    if (mountedRootfs !== undefined) await unmountAll(mountedRootfs, this.mountTools).catch(() => undefined);
    // A crash may have left the default bundle's rootfs mounted before the record said so.
    for (const mountPoint of await mountsUnder(paths.dir, this.mountTools)) {
      await unmountAll(mountPoint, this.mountTools).catch(() => undefined);
    }
    await this.removeStateDir(paths, record);
  }

  // ------------------------------------------------------------- lifecycle

  async start(id: string): Promise<ContainerState> {
    validateId(id);
    return this.withLock(id, async () => {
      const record = await this.requireRecord(id);
      const state = await this.stateOf(record, await this.runc.state(id));
      if (state.status !== 'created') {
        throw new ContainerError('INVALID_STATE', `container ${id} is ${state.status}, only a created container can be started`, { containerId: id });
      }
      try {
        await this.runc.start(id);
      } catch (err) {
        throw this.mapRuncError(id, err, 'start');
      }
      return this.stateOf(record, await this.runc.state(id));
    });
  }

  /** Sends `signal` to the init process (all: every process of the container). */
  async kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): Promise<void> {
    validateId(id);
    const sig = parseSignal(signal);
    const record = await this.requireRecord(id);
    const state = await this.stateOf(record, await this.runc.state(id));
    if (state.status === 'stopped') throw new ContainerError('NOT_RUNNING', `container ${id} is not running`, { containerId: id });
    try {
      await this.runc.kill(id, sig, opts.all === true);
    } catch (err) {
      throw this.mapRuncError(id, err, 'kill');
    }
  }

  async pause(id: string): Promise<void> {
    validateId(id);
    await this.withLock(id, async () => {
      await this.requireStatus(id, ['running'], 'pause');
      try {
        await this.runc.pause(id);
      } catch (err) {
        throw this.mapRuncError(id, err, 'pause');
      }
    });
  }

  async resume(id: string): Promise<void> {
    validateId(id);
    await this.withLock(id, async () => {
      await this.requireStatus(id, ['paused'], 'resume');
      try {
        await this.runc.resume(id);
      } catch (err) {
        throw this.mapRuncError(id, err, 'resume');
      }
    });
  }

  /**
   * Removes the container: runc state, monitor, mounts, state dir (and the
   * bundle if the agent made it). A running or paused container needs force
   * (it is killed). Returns the exit status, if one was recorded.
   */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<ExitStatus | undefined> {
    validateId(id);
    return this.withLock(id, async () => {
      const paths = containerPaths(this.layout, id);
      const record = await this.requireRecord(id);
      const state = await this.stateOf(record, await this.runc.state(id));
      if ((state.status === 'running' || state.status === 'paused') && !opts.force) {
        throw new ContainerError('IS_RUNNING', `container ${id} is ${state.status}: stop it first or delete with force`, { containerId: id });
      }
      try {
        await this.runc.delete(id, state.status !== 'stopped');
      } catch (err) {
        if (!(err instanceof RuncError && isNotExistMessage(err.runcMessage))) throw this.mapRuncError(id, err, 'delete');
      }
      let exit = state.exit;
      if (!exit) exit = await this.awaitMonitorExit(record, paths);
      await this.stopExecMonitors(id);
      if (record.rootfsMounts.length > 0) await unmountAll(record.rootfs, this.mountTools);
      await this.removeStateDir(paths, record);
      this.logger.info({ containerId: id, exitCode: exit?.exitCode }, 'container deleted');
      return exit;
    });
  }

  /** After runc delete: the monitor records the exit and ends; a hung one is killed. */
  private async awaitMonitorExit(record: ContainerRecord, paths: ContainerPaths): Promise<ExitStatus | undefined> {
    const conmonPid = await readPidFile(paths.conmonPid);
    try {
      await waitFor(
        async () => ((await isMonitorAlive(conmonPid, record.id)) ? undefined : true),
        { dir: this.layout.exitsDir, pollMs: 100, timeoutMs: this.stopTimeoutMs, what: `conmon of ${record.id} to exit` },
      );
    } catch {
      if (conmonPid !== undefined && (await isMonitorAlive(conmonPid, record.id))) {
        this.logger.warn({ containerId: record.id, conmonPid }, 'conmon did not exit after runc delete; killing it');
        process.kill(conmonPid, 'SIGKILL');
      }
    }
    return this.readExit(record.id, paths);
  }

  private async stopExecMonitors(id: string): Promise<void> {
    const dir = containerPaths(this.layout, id).execsDir;
    for (const execId of await readdir(dir).catch(() => [] as string[])) {
      const ep = execPaths(this.layout, id, execId);
      const pid = await readPidFile(ep.conmonPid).catch(() => undefined);
      if (pid !== undefined && (await isMonitorAlive(pid, ep.cuuid))) process.kill(pid, 'SIGKILL');
      await rm(ep.attachLink, { force: true });
    }
  }

  private async removeStateDir(paths: ContainerPaths, record: ContainerRecord | undefined): Promise<void> {
    const left = await mountsUnder(paths.dir, this.mountTools);
    if (left.length > 0) {
      throw new ContainerError('RUNTIME_FAILED', `refusing to remove ${paths.dir}: still mounted at ${left.join(', ')}`);
    }
    if (record && !record.ownsBundle) {
      // conmon's files in a caller's bundle; the bundle itself is the caller's.
      for (const f of ['ctl', 'winsz', 'attach']) await rm(join(record.bundle, f), { force: true });
    }
    await rm(paths.exitFile, { force: true });
    await rm(paths.attachLink, { force: true });
    await rm(paths.dir, { recursive: true, force: true });
  }

  // ----------------------------------------------------------------- state

  async state(id: string): Promise<ContainerState> {
    validateId(id);
    const record = await this.requireRecord(id);
    return this.stateOf(record, await this.runc.state(id));
  }

  async list(): Promise<ContainerState[]> {
    await this.ensureDirs();
    const runcStates = new Map((await this.runc.list()).map((s) => [s.id, s]));
    const out: ContainerState[] = [];
    for (const id of (await readdir(this.layout.containersDir)).sort()) {
      const record = await readRecord(containerPaths(this.layout, id).record);
      if (record) out.push(await this.stateOf(record, runcStates.get(id)));
    }
    return out;
  }

  /** Resolves with the exit status once the container has exited. */
  async wait(id: string, opts: { signal?: AbortSignal } = {}): Promise<ExitStatus> {
    validateId(id);
    const record = await this.requireRecord(id);
    const paths = containerPaths(this.layout, id);
    return waitFor(
      async () => {
        const exit = await this.readExit(id, paths);
        if (exit) return exit;
        if (!(await readRecord(paths.record))) {
          throw new ContainerError('NOT_FOUND', `container ${id} was deleted while being waited for`, { containerId: id });
        }
        if (await isMonitorAlive(await readPidFile(paths.conmonPid), id)) return undefined;
        const state = await this.stateOf(record, await this.runc.state(id));
        if (state.exit) return state.exit;
        if (state.status !== 'stopped') return undefined;
        throw new ContainerError('EXIT_UNKNOWN', `container ${id}: ${state.error ?? 'exit code unknown'}`, { containerId: id });
      },
      { dir: this.layout.exitsDir, pollMs: this.pollMs, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
  }

  /** The sealed exit status, sealing conmon's files on first read. */
  private async readExit(id: string, paths: ContainerPaths): Promise<ExitStatus | undefined> {
    const sealed = await readSealedExit(paths.sealedExit);
    if (sealed) return sealed;
    const exit = await readConmonExit([paths.persistExit, paths.exitFile], paths.persistOom);
    if (exit) sealExit(paths.sealedExit, exit);
    return exit;
  }

  private async stateOf(record: ContainerRecord, runc: RuncState | undefined): Promise<ContainerState> {
    const paths = containerPaths(this.layout, record.id);
    const base: ContainerState = {
      id: record.id,
      status: 'stopped',
      bundle: record.bundle,
      rootfs: record.rootfs,
      tty: record.tty,
      stdin: record.stdin,
      logPath: record.logPath,
      createdAt: record.createdAt,
    };
    let exit = await this.readExit(record.id, paths);
    if (exit) return { ...base, exit };
    const conmonPid = await readPidFile(paths.conmonPid);
    const monitorAlive = await isMonitorAlive(conmonPid, record.id);
    const monitor = monitorAlive && conmonPid !== undefined ? { monitorPid: conmonPid } : {};
    if (runc && (runc.status === 'created' || runc.status === 'creating' || runc.status === 'running' || runc.status === 'paused')) {
      const status = runc.status === 'creating' ? 'created' : runc.status;
      return { ...base, ...monitor, status, ...(runc.pid > 0 ? { pid: runc.pid } : {}) };
    }
    if (monitorAlive) {
      // The process just ended and conmon is writing its exit code.
      exit = await waitFor(() => this.readExit(record.id, paths), { dir: this.layout.exitsDir, pollMs: 50, timeoutMs: 2000 }).catch(
        () => undefined,
      );
      if (exit) return { ...base, exit };
      return { ...base, ...monitor, error: 'the process ended; its monitor has not recorded the exit code yet' };
    }
    if ((await readPidFile(paths.containerPid)) === undefined) {
      return { ...base, error: 'create did not complete (the agent stopped during create)' };
    }
    return { ...base, error: 'the monitor (conmon) ended without recording an exit code' };
  }

  // --------------------------------------------------------------- recover

  /**
   * Re-adopts every container of the state root after an agent restart:
   * running containers keep running, exits that happened while the agent was
   * down are read and sealed, creates interrupted by a crash are removed, and
   * runc containers without a state dir are force-deleted.
   */
  async recover(): Promise<RecoverReport> {
    await this.ensureDirs();
    const report: RecoverReport = { containers: [], removedIncomplete: [], removedOrphans: [] };
    const runcStates = new Map((await this.runc.list()).map((s) => [s.id, s]));
    for (const id of (await readdir(this.layout.containersDir)).sort()) {
      const paths = containerPaths(this.layout, id);
      removeTempLeftovers(paths.dir);
      await this.withLock(id, async () => {
        const record = await readRecord(paths.record).catch((err: unknown) => {
          this.logger.warn({ containerId: id, err }, 'unreadable container record; treating the create as incomplete');
          return undefined;
        });
        const state = record ? await this.stateOf(record, runcStates.get(id)) : undefined;
        const incomplete = !record || (state?.status === 'stopped' && !state.exit && (await readPidFile(paths.containerPid)) === undefined);
        if (incomplete) {
          await this.runc.delete(id, true).catch(() => undefined);
          await this.discard(id, paths, record, record && record.rootfsMounts.length > 0 ? record.rootfs : undefined);
          report.removedIncomplete.push(id);
          this.logger.warn({ containerId: id }, 'removed a container whose create never completed');
        } else if (state) {
          report.containers.push(state);
        }
      });
      runcStates.delete(id);
    }
    for (const orphan of runcStates.keys()) {
      await this.runc.delete(orphan, true).catch((err: unknown) => this.logger.warn({ containerId: orphan, err }, 'cannot delete orphan runc container'));
      report.removedOrphans.push(orphan);
    }
    return report;
  }

  // ------------------------------------------------------------ inspection

  /** Host pids of every process in the container. */
  async pids(id: string): Promise<number[]> {
    validateId(id);
    await this.requireStatus(id, ['running', 'paused', 'created'], 'list processes of');
    try {
      return await this.runc.ps(id);
    } catch (err) {
      throw this.mapRuncError(id, err, 'ps');
    }
  }

  async stats(id: string): Promise<CgroupStats> {
    validateId(id);
    const state = await this.requireStatus(id, ['running', 'paused', 'created'], 'read stats of');
    const record = await this.requireRecord(id);
    const system = (this.cgroups ??= await readCgroupSystem());
    let procCgroup: string | undefined;
    if (state.pid !== undefined) procCgroup = await readFile(`/proc/${state.pid}/cgroup`, 'utf8').catch(() => undefined);
    const cg = procCgroup !== undefined
      ? containerCgroupFromProc(system, procCgroup)
      : record.cgroupsPath !== undefined
        ? containerCgroupFromPath(system, record.cgroupsPath)
        : undefined;
    if (!cg) throw new ContainerError('NOT_RUNNING', `container ${id} has no cgroup to read`, { containerId: id });
    try {
      return await readCgroupStats(cg);
    } catch (err) {
      throw new ContainerError('RUNTIME_FAILED', `cannot read stats of container ${id}: ${(err as Error).message}`, { containerId: id, cause: err });
    }
  }

  // ------------------------------------------------------------------ stdio

  /** Resizes the container's terminal (conmon's ctl fifo: "1 <height> <width>"). */
  async resize(id: string, size: { height: number; width: number }): Promise<void> {
    validateId(id);
    const record = await this.requireRecord(id);
    if (!record.tty) throw new ContainerError('INVALID_ARGUMENT', `container ${id} has no terminal to resize`, { containerId: id });
    await sendResize(join(record.bundle, 'ctl'), size, id);
  }

  /** Connects to the container's stdio through conmon (see attach.ts). */
  async attach(id: string, opts: { stdin?: boolean } = {}): Promise<AttachSession> {
    validateId(id);
    const record = await this.requireRecord(id);
    await this.requireStatus(id, ['created', 'running', 'paused'], 'attach to');
    if (opts.stdin && !record.stdin) {
      throw new ContainerError('INVALID_ARGUMENT', `container ${id} was created without stdin`, { containerId: id });
    }
    try {
      return await attachSocket(record.bundle, { stdin: opts.stdin === true, perlPath: this.perlPath });
    } catch (err) {
      throw new ContainerError('RUNTIME_FAILED', (err as Error).message, { containerId: id, cause: err });
    }
  }

  /** Rotates the logs of `id` (or of every container) that reached their size limit; returns the rotated ids. */
  async rotateLogs(id?: string): Promise<string[]> {
    const ids = id !== undefined ? [id] : await readdir(this.layout.containersDir).catch(() => [] as string[]);
    const rotated: string[] = [];
    for (const cid of ids) {
      const record = await readRecord(containerPaths(this.layout, cid).record).catch(() => undefined);
      if (!record || record.logMaxSize <= 0) continue;
      const r = await rotateIfNeeded(record.logPath, join(record.bundle, 'ctl'), record.logMaxSize, record.logMaxFiles);
      if (r.rotated) rotated.push(cid);
    }
    return rotated;
  }

  /** Rotates logs every `intervalMs` until the returned function is called. */
  startLogRotation(intervalMs = 1000): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.rotateLogs()
        .catch((err: unknown) => this.logger.warn({ err }, 'log rotation failed'))
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Calls `onExit` for every container exit recorded from now on (and, with
   * includeExisting, for containers already stopped). Backed by inotify on the
   * shared exit dir and a poll; returns a function that stops watching.
   */
  watchExits(onExit: (id: string, exit: ExitStatus) => void, opts: { includeExisting?: boolean } = {}): () => void {
    const reported = new Set<string>();
    let stopped = false;
    const scan = async (report: boolean): Promise<void> => {
      const names = await readdir(this.layout.exitsDir).catch(() => [] as string[]);
      for (const id of names) {
        if (stopped) return;
        const paths = containerPaths(this.layout, id);
        const record = await readRecord(paths.record).catch(() => undefined);
        if (!record) continue;
        const exit = await this.readExit(id, paths).catch(() => undefined);
        if (!exit) continue;
        const key = `${id}@${exit.exitedAt}`;
        if (reported.has(key)) continue;
        reported.add(key);
        if (report) onExit(id, exit);
      }
    };
    const ready = this.ensureDirs().then(() => scan(opts.includeExisting === true));
    const controller = new AbortController();
    void ready.then(() =>
      waitFor(async () => {
        await scan(true);
        return undefined;
      }, { dir: this.layout.exitsDir, pollMs: Math.max(this.pollMs, 1000), signal: controller.signal }).catch(() => undefined),
    );
    return () => {
      stopped = true;
      controller.abort();
    };
  }

  // ------------------------------------------------------------------ exec

  /** Starts an extra process in a running container, under its own conmon. */
  async execStart(id: string, opts: ExecOptions): Promise<ExecSession> {
    validateId(id);
    const execId = opts.execId ?? randomBytes(6).toString('hex');
    validateId(execId, 'exec id');
    const record = await this.requireRecord(id);
    await this.requireStatus(id, ['running'], 'exec in');
    const config = JSON.parse(await readFile(join(record.bundle, 'config.json'), 'utf8')) as RuntimeSpec;
    if (!config.process) throw new ContainerError('RUNTIME_FAILED', `container ${id}: config.json has no process`, { containerId: id });
    let user;
    if (opts.user !== undefined) {
      try {
        user = await resolveUser(record.rootfs, opts.user);
      } catch (err) {
        if (err instanceof SpecError) throw new ContainerError('INVALID_ARGUMENT', `exec in ${id}: ${err.message}`, { containerId: id });
        throw err;
      }
    }
    const processSpec = buildExecProcess(config.process, opts, user);
    const ep = execPaths(this.layout, id, execId);
    await mkdir(containerPaths(this.layout, id).execsDir, { recursive: true });
    try {
      await mkdir(ep.dir);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new ContainerError('ALREADY_EXISTS', `exec ${execId} already exists in ${id}`, { containerId: id });
      throw err;
    }
    await mkdir(ep.exitDir);
    writeFileAtomic(ep.processSpec, JSON.stringify(processSpec), 0o600);
    const attach = opts.attach === true;
    const conmon = spawnConmon({
      conmonPath: this.conmonPath,
      runtimePath: this.runtimePath,
      runtimeRoot: this.layout.runcRoot,
      containerId: id,
      cuuid: ep.cuuid,
      bundle: ep.dir,
      containerPidFile: ep.pid,
      conmonPidFile: ep.conmonPid,
      exitDir: ep.exitDir,
      socketDir: this.layout.attachDir,
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
      if (attach) session = await this.attachExec(conmon, ep.dir);
      msg = await this.awaitStart(conmon, `exec ${execId} in container ${id}`);
    } catch (err) {
      session?.detach();
      await this.removeExec(id, execId);
      throw new ContainerError('RUNTIME_FAILED', `cannot exec in container ${id}: ${(err as Error).message}`, { containerId: id, cause: err });
    }
    if (msg.data <= 0) {
      session?.detach();
      await this.removeExec(id, execId);
      const message = extractRuncMessage(msg.message ?? '') || 'no message';
      const exec = classifyExecFailure(message);
      if (exec) {
        throw new ContainerError(exec.kind === 'not-found' ? 'COMMAND_NOT_FOUND' : 'COMMAND_NOT_EXECUTABLE', `exec in ${id}: ${message}`, {
          containerId: id,
          exitCode: exec.exitCode,
        });
      }
      throw new ContainerError('RUNTIME_FAILED', `cannot exec in container ${id}: ${message}`, { containerId: id });
    }
    return {
      execId,
      pid: msg.data,
      logPath: ep.log,
      attach: session,
      wait: (signal?: AbortSignal) => this.waitExec(id, execId, signal),
    };
  }

  /** The attached-exec handshake: release the fork, wait for the socket, connect, release the exec. */
  private async attachExec(conmon: ConmonProcess, dir: string): Promise<AttachSession> {
    if (!conmon.startPipe || !conmon.attachPipe) throw new Error('conmon was not started for attach');
    conmon.startPipe.write('0');
    const ready = await conmon.attachPipe.next();
    if (!ready || ready.data !== 0) {
      throw new Error(`conmon did not open the attach socket: ${ready?.message ?? meaningfulStderr(conmon.stderr()) ?? 'no message'}`);
    }
    const session = await attachSocket(dir, { stdin: true, perlPath: this.perlPath });
    conmon.startPipe.write('1');
    return session;
  }

  async waitExec(id: string, execId: string, signal?: AbortSignal): Promise<ExitStatus> {
    validateId(id);
    validateId(execId, 'exec id');
    const ep = execPaths(this.layout, id, execId);
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
      { dir: ep.exitDir, pollMs: this.pollMs, ...(signal ? { signal } : {}) },
    );
  }

  async resizeExec(id: string, execId: string, size: { height: number; width: number }): Promise<void> {
    validateId(id);
    validateId(execId, 'exec id');
    await sendResize(join(execPaths(this.layout, id, execId).dir, 'ctl'), size, id);
  }

  /** Removes an exec session's files (its process, if still running, is killed with its monitor). */
  async removeExec(id: string, execId: string): Promise<void> {
    validateId(id);
    validateId(execId, 'exec id');
    const ep = execPaths(this.layout, id, execId);
    const pid = await readPidFile(ep.conmonPid).catch(() => undefined);
    if (pid !== undefined && (await isMonitorAlive(pid, ep.cuuid))) {
      const procPid = await readPidFile(ep.pid).catch(() => undefined);
      if (procPid !== undefined) {
        try {
          process.kill(procPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await rm(ep.attachLink, { force: true });
    await rm(ep.dir, { recursive: true, force: true });
  }

  /** Runs a command to completion in a running container and returns its exit code and output. */
  async exec(id: string, opts: Omit<ExecOptions, 'attach' | 'stdin'>): Promise<ExecResult> {
    const session = await this.execStart(id, opts);
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
      await this.removeExec(id, session.execId);
    }
  }

  // --------------------------------------------------------------- helpers

  private async requireRecord(id: string): Promise<ContainerRecord> {
    const record = await readRecord(containerPaths(this.layout, id).record);
    if (!record) throw new ContainerError('NOT_FOUND', `no such container: ${id}`, { containerId: id });
    return record;
  }

  private async requireStatus(id: string, allowed: ContainerStatus[], verb: string): Promise<ContainerState> {
    const record = await this.requireRecord(id);
    const state = await this.stateOf(record, await this.runc.state(id));
    if (!allowed.includes(state.status)) {
      const code = state.status === 'stopped' ? 'NOT_RUNNING' : 'INVALID_STATE';
      throw new ContainerError(code, `cannot ${verb} container ${id}: it is ${state.status}`, { containerId: id });
    }
    return state;
  }

  private mapRuncError(id: string, err: unknown, op: string): ContainerError {
    if (isContainerError(err)) return err;
    if (!(err instanceof RuncError)) {
      return new ContainerError('RUNTIME_FAILED', `${op} of container ${id} failed: ${(err as Error).message}`, { containerId: id, cause: err });
    }
    const msg = err.runcMessage;
    const exec = classifyExecFailure(msg);
    if (exec) {
      return new ContainerError(exec.kind === 'not-found' ? 'COMMAND_NOT_FOUND' : 'COMMAND_NOT_EXECUTABLE', `container ${id}: ${msg}`, {
        containerId: id,
        exitCode: exec.exitCode,
        cause: err,
      });
    }
    if (isNotExistMessage(msg) || /not running|stopped|has stopped|container is not/i.test(msg)) {
      return new ContainerError('NOT_RUNNING', `cannot ${op} container ${id}: ${msg}`, { containerId: id, cause: err });
    }
    return new ContainerError('RUNTIME_FAILED', `cannot ${op} container ${id}: ${msg}`, { containerId: id, cause: err });
  }

  private ensureDirs(): Promise<void> {
    this.dirsReady ??= (async () => {
      for (const dir of [this.layout.containersDir, this.layout.exitsDir, this.layout.attachDir, this.layout.runcRoot]) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
      }
    })().catch((err: unknown) => {
      this.dirsReady = undefined;
      throw err;
    });
    return this.dirsReady;
  }

  /** Serializes operations on one container within this process. */
  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}

function validateCreateOptions(opts: CreateOptions): void {
  if (!opts || typeof opts !== 'object') throw new ContainerError('INVALID_ARGUMENT', 'create options are required');
  const spec = opts.spec;
  if (!spec || typeof spec !== 'object' || !spec.process || !Array.isArray(spec.process.args) || spec.process.args.length === 0) {
    throw new ContainerError('INVALID_ARGUMENT', 'spec.process.args is required');
  }
  if (opts.bundle !== undefined && !isAbsolute(opts.bundle)) {
    throw new ContainerError('INVALID_ARGUMENT', `bundle must be an absolute path, got ${JSON.stringify(opts.bundle)}`);
  }
  if (opts.logPath !== undefined && !isAbsolute(opts.logPath)) {
    throw new ContainerError('INVALID_ARGUMENT', `logPath must be an absolute path, got ${JSON.stringify(opts.logPath)}`);
  }
  if (opts.logMaxSize !== undefined && (!Number.isSafeInteger(opts.logMaxSize) || opts.logMaxSize < 0)) {
    throw new ContainerError('INVALID_ARGUMENT', `logMaxSize must be a byte count >= 0, got ${opts.logMaxSize}`);
  }
  if (opts.logMaxFiles !== undefined && (!Number.isInteger(opts.logMaxFiles) || opts.logMaxFiles < 1 || opts.logMaxFiles > 64)) {
    throw new ContainerError('INVALID_ARGUMENT', `logMaxFiles must be an integer from 1 to 64, got ${opts.logMaxFiles}`);
  }
  if (opts.stdinOnce === false && !opts.stdin) {
    throw new ContainerError('INVALID_ARGUMENT', 'stdinOnce only applies with stdin');
  }
}

async function requireDirectory(path: string, what: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) return;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  throw new ContainerError('INVALID_ARGUMENT', `${what} ${path} is not a directory`);
}

/** runc's error for a missing bind source is obscure; say it plainly before creating anything. */
async function checkBindSources(spec: RuntimeSpec): Promise<void> {
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (!bind) continue;
    if (!m.source || !isAbsolute(m.source)) {
      throw new ContainerError('INVALID_ARGUMENT', `mounts[${i}] (${m.destination}): bind source must be an absolute path, got ${JSON.stringify(m.source)}`);
    }
    try {
      await stat(m.source);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new ContainerError('INVALID_ARGUMENT', `mounts[${i}] (${m.destination}): bind source ${m.source} does not exist`);
      }
      throw err;
    }
  }
}

async function sendResize(ctlPath: string, size: { height: number; width: number }, id: string): Promise<void> {
  const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 1000;
  if (!size || !ok(size.height) || !ok(size.width)) {
    throw new ContainerError('INVALID_ARGUMENT', `terminal size must be 1..1000 rows and columns, got ${JSON.stringify(size)}`, { containerId: id });
  }
  if (!(await writeControl(ctlPath, `1 ${size.height} ${size.width}\n`))) {
    throw new ContainerError('NOT_RUNNING', `cannot resize the terminal of ${id}: its monitor is not running`, { containerId: id });
  }
}

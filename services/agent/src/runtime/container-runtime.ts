// ContainerRuntime: containers on runc, each watched by its own conmon.
//
// The agent holds no container state in memory. A container is its state
// directory (see layout.ts): the record written at create, conmon's pid and
// exit files, and runc's own state under the private runc root. Any instance
// pointed at the same root sees the same containers, so a restarted agent
// simply calls recover() and carries on; containers keep running meanwhile
// because conmon, not the agent, is their parent.
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { OciSpec } from '@berth/runtime-spec';
import { allSettledOrThrow } from '@berth/service-kit';
import { BackgroundRemover, removeTempLeftovers, writeFileAtomic } from '@berth/store';
import { containerCgroupFromPath, containerCgroupFromProc, readCgroupSystem, type CgroupSystem } from '../cgroups/layout.js';
import { readCgroupStats, type CgroupStats } from '../cgroups/stats.js';
import { ContainerError, errnoCode, isContainerError, MountError } from '../errors.js';
import { rotateIfNeeded, writeControl } from '../logs/rotate.js';
import { mountAll, mountsUnder, MountSyscalls, unmountAll, type MountTools } from '@berth/mount';
import { attachSocket, BridgePool, type AttachSession, type BridgeReservation } from './attach.js';
import { requireDirectory, resizeMessage, validateCreateOptions, type TerminalSize } from './checks.js';
import { awaitConmonStart, spawnConmon, type ConmonLaunch } from './conmon.js';
import { classifyExecFailure } from './exec-errors.js';
import { ExecRequests, type ExecDefinition } from './exec-requests.js';
import { ExecSessions } from './exec-sessions.js';
import { exitStatusFromCode, readConmonExit, readSealedExit, sealExit, cancelSeal, sealInBackground, type ExitStatus } from './exit-status.js';
import { watchExitDir } from './exit-watch.js';
import { containerPaths, runtimeLayout, validateId, type ContainerPaths, type RuntimeLayout } from './layout.js';
import { specForNode } from './node-spec.js';
import { copyUpVolume, type CopyUpResult } from '../spec/copy-up.js';
import { isMonitorAlive, readPidFile, readPidFileSync } from './proc.js';
import { readRecord, writeRecord, type ContainerRecord } from './record.js';
import { extractRuncMessage, isNotExistMessage, Runc, RuncError, type RuncState } from './runc.js';
import { parseSignal } from './signals.js';
import type {
  ContainerRuntimeOptions,
  ContainerState,
  ContainerStatus,
  CreateOptions,
  ExecOptions,
  ExecResult,
  ExecSession,
  ExecState,
  ExecStatus,
  RecoverReport,
  RuntimeLogger,
  VolumeCopyUp,
} from './types.js';
import { waitFor } from './wait-for.js';

export type {
  ContainerRuntimeOptions,
  ContainerState,
  ContainerStatus,
  CreateOptions,
  ExecOptions,
  ExecResult,
  ExecSession,
  ExecState,
  ExecStatus,
  RecoverReport,
  RuntimeLogger,
} from './types.js';
export type { ExecDefinition } from './exec-requests.js';

const NOOP_LOGGER: RuntimeLogger = { info: () => undefined, warn: () => undefined };

export class ContainerRuntime {
  readonly layout: RuntimeLayout;
  private readonly runc: Runc;
  private readonly conmonPath: string;
  private readonly runtimePath: string;
  /** Attach bridges, one kept started ahead of need. */
  private readonly bridges: BridgePool;
  private readonly mountTools: MountTools;
  private readonly ownSyscalls: MountSyscalls | undefined;
  private readonly logger: RuntimeLogger;
  private readonly startTimeoutMs: number;
  private readonly pollMs: number;
  private readonly stopTimeoutMs: number;
  private cgroups: CgroupSystem | undefined;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Creates in progress, by id (with where their attach socket will be); and who waits for one to begin (see createSettled). */
  private readonly creates = new Map<string, { done: Promise<unknown>; bundle: string; stdin: boolean }>();
  private readonly createAwaiters = new Map<string, Set<() => void>>();
  /** State dirs of deleted containers, deleted in the background (see removeStateDir). */
  private readonly removals: BackgroundRemover;
  private dirsReady: Promise<void> | undefined;
  private readonly execs: ExecSessions;
  private readonly execRequests: ExecRequests;

  constructor(opts: ContainerRuntimeOptions) {
    if (!isAbsolute(opts.root)) throw new ContainerError('INVALID_ARGUMENT', `state root must be absolute, got ${opts.root}`);
    this.layout = runtimeLayout(opts.root, opts.runtimeRoot);
    this.runtimePath = opts.runtimePath ?? '/usr/sbin/runc';
    this.conmonPath = opts.conmonPath ?? '/usr/bin/conmon';
    this.bridges = new BridgePool(opts.perlPath);
    this.runc = new Runc({ path: this.runtimePath, root: this.layout.runcRoot });
    // Rootfs overlays up and down by system call, through one long-lived helper: no
    // fork of mount(8)/umount(8) on every create and delete (≈ 5 ms each).
    this.ownSyscalls = opts.mountTools ? undefined : MountSyscalls.forThisMachine(opts.perlPath);
    this.mountTools = opts.mountTools ?? (this.ownSyscalls ? { syscalls: this.ownSyscalls } : {});
    this.logger = opts.logger ?? NOOP_LOGGER;
    this.removals = new BackgroundRemover(this.layout.removedDir, (err, path) =>
      this.logger.warn({ err, path }, 'cannot delete a removed container state dir; the next start deletes it'),
    );
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 500;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    this.cgroups = opts.cgroupSystem;
    this.execRequests = new ExecRequests(this.layout);
    this.execs = new ExecSessions({
      layout: this.layout,
      conmonPath: this.conmonPath,
      runtimePath: this.runtimePath,
      bridges: this.bridges,
      pollMs: this.pollMs,
      startTimeoutMs: this.startTimeoutMs,
      runningContainer: async (id) => {
        await this.requireStatus(id, ['running'], 'exec in');
        return this.requireRecord(id);
      },
    });
  }

  // ---------------------------------------------------------------- create

  async create(id: string, opts: CreateOptions): Promise<ContainerState> {
    validateId(id);
    validateCreateOptions(opts);
    const creating = this.ensureDirs().then(() => this.createLocked(id, opts));
    const entry = {
      done: creating,
      bundle: opts.bundle === undefined ? containerPaths(this.layout, id).defaultBundle : resolve(opts.bundle),
      stdin: opts.stdin === true,
    };
    // A second create of the same id fails (ALREADY_EXISTS): the first one's entry stays.
    if (!this.creates.has(id)) this.creates.set(id, entry);
    for (const begun of this.createAwaiters.get(id) ?? []) begun();
    try {
      return await creating;
    } finally {
      if (this.creates.get(id) === entry) this.creates.delete(id);
    }
  }

  /**
   * Attaches to a container while it is being created, the moment its
   * monitor listens: conmon binds the attach socket before it runs `runc
   * create`, so the stdio is connected by the time the create returns and a
   * run can start it at once. Undefined when no create of `id` begins within
   * `timeoutMs`, or it ends first, or it has no stdin to give: the caller then
   * looks at the container as it is (createSettled, state, attach).
   */
  async attachWhileCreating(
    id: string,
    opts: { stdin: boolean; reserved?: BridgeReservation; timeoutMs: number; signal?: AbortSignal },
  ): Promise<AttachSession | undefined> {
    validateId(id);
    if (!this.creates.has(id) && !existsSync(containerPaths(this.layout, id).record)) await this.createBegins(id, opts);
    const create = this.creates.get(id);
    if (!create || (opts.stdin && !create.stdin)) return undefined;
    let settled = false;
    void create.done.then(
      () => (settled = true),
      () => (settled = true),
    );
    const socket = join(create.bundle, 'attach');
    // A stat a millisecond for the ≈ 20 ms until conmon binds it.
    while (!existsSync(socket)) {
      if (settled || opts.signal?.aborted) return undefined;
      await new Promise((r) => setTimeout(r, 1));
    }
    try {
      return await attachSocket(create.bundle, { stdin: opts.stdin, bridges: this.bridges, ...(opts.reserved ? { reserved: opts.reserved } : {}) });
    } catch {
      // conmon went away (its create failed): the caller reports what the container became.
      await create.done.catch(() => undefined);
      return undefined;
    }
  }

  /**
   * Settles once the container exists (created by now) or a create of it,
   * in progress or begun within `timeoutMs`, has finished, either way: the
   * caller then looks at what is there. Lets an attach be made together
   * with the create, connecting the moment the container is created.
   */
  async createSettled(id: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    validateId(id);
    for (;;) {
      const creating = this.creates.get(id);
      if (creating) {
        await creating.done.catch(() => undefined);
        return;
      }
      if (existsSync(containerPaths(this.layout, id).record)) return;
      if (!(await this.createBegins(id, opts))) return;
    }
  }

  /** True once a create of `id` begins; false after `timeoutMs` or an abort. */
  private createBegins(id: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    return new Promise((resolve) => {
      const awaiters = this.createAwaiters.get(id) ?? new Set<() => void>();
      this.createAwaiters.set(id, awaiters);
      const settle = (begun: boolean) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', aborted);
        awaiters.delete(onBegun);
        if (awaiters.size === 0 && this.createAwaiters.get(id) === awaiters) this.createAwaiters.delete(id);
        resolve(begun);
      };
      const onBegun = () => settle(true);
      const aborted = () => settle(false);
      const timer = setTimeout(aborted, opts.timeoutMs);
      awaiters.add(onBegun);
      if (opts.signal?.aborted) return aborted();
      opts.signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  private createLocked(id: string, opts: CreateOptions): Promise<ContainerState> {
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
        rmSync(paths.exitFile, { force: true });
        rmSync(paths.attachLink, { force: true });
        const bundle = opts.bundle === undefined ? paths.defaultBundle : resolve(opts.bundle);
        if (opts.bundle === undefined) await mkdir(bundle);
        else await requireDirectory(bundle, 'bundle');
        const tty = opts.tty ?? opts.spec.process?.terminal === true;
        const given: OciSpec = { ...opts.spec, process: { ...opts.spec.process, terminal: tty } };
        const rootfs = resolve(bundle, given.root?.path ?? 'rootfs');
        const rootfsMounts = opts.rootfsMounts ?? [];
        if (rootfsMounts.length > 0) {
          mountedRootfs = rootfs;
          await mountAll(rootfsMounts, rootfs, this.mountTools);
        } else {
          await requireDirectory(rootfs, 'rootfs');
        }
        for (const c of opts.copyUps ?? []) await this.copyUp(id, rootfs, c);
        const spec = await specForNode(id, given, rootfs, { user: opts.user, privileged: opts.privileged });
        // Not fsynced, like the record: runc reads it only while the container's processes live.
        writeFileAtomic(join(bundle, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`, 0o600, { durable: false });
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
        const msg = await awaitConmonStart(spawnConmon(launch), `create of container ${id}`, this.startTimeoutMs);
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
          await sealExit(paths.sealedExit, exitStatusFromCode(exec.exitCode, false, new Date(), message));
          // An exit file like conmon's, so exit watchers (watchExits) report it too.
          writeFileAtomic(paths.exitFile, `${exec.exitCode}\n`, 0o600);
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

  /** Fills one volume from the mounted rootfs (when it is empty). */
  private async copyUp(id: string, rootfs: string, c: VolumeCopyUp): Promise<void> {
    let result: CopyUpResult;
    try {
      result = await copyUpVolume(rootfs, c.path, c.target);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ContainerError('RUNTIME_FAILED', `container ${id}: cannot fill the volume at ${c.path} (${c.target}) from the image: ${reason}`, {
        containerId: id,
        cause: err,
      });
    }
    if (result.outcome !== 'copied') return;
    this.logger.info({ containerId: id, path: c.path, target: c.target, entries: result.entries }, 'volume filled from the image');
    if (result.skipped.length > 0) {
      this.logger.warn({ containerId: id, path: c.path, skipped: result.skipped }, 'device nodes, fifos and sockets are not copied into volumes');
    }
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

  /** Changes the container's cgroup limits (`runc update` with an OCI LinuxResources object). */
  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    validateId(id);
    if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) {
      throw new ContainerError('INVALID_ARGUMENT', `container ${id}: resources must be a JSON object (OCI LinuxResources)`, { containerId: id });
    }
    await this.withLock(id, async () => {
      await this.requireStatus(id, ['created', 'running', 'paused'], 'update');
      try {
        await this.runc.update(id, resources);
      } catch (err) {
        throw this.mapRuncError(id, err, 'update', 'INVALID_ARGUMENT');
      }
    });
  }

  /** Host pid of the container's init process as conmon recorded it (also after it exited). */
  async initPid(id: string): Promise<number | undefined> {
    validateId(id);
    try {
      return readPidFileSync(containerPaths(this.layout, id).containerPid);
    } catch {
      return undefined;
    }
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
      const runcDelete = this.runc.delete(id, state.status !== 'stopped').catch((err: unknown) => {
        if (!(err instanceof RuncError && isNotExistMessage(err.runcMessage))) throw this.mapRuncError(id, err, 'delete');
      });
      // A stopped container's processes are gone, so its rootfs can be
      // unmounted while runc removes its state (two spawns at once, on every
      // `run --rm`); a live one's only once runc has killed it.
      const unmountRootfs = async () => {
        if (record.rootfsMounts.length > 0) await unmountAll(record.rootfs, this.mountTools);
      };
      if (state.status === 'stopped') await allSettledOrThrow([runcDelete, unmountRootfs()]);
      else await runcDelete;
      let exit = state.exit;
      if (!exit) exit = await this.awaitMonitorExit(record, paths);
      await this.execs.killAll(id);
      if (state.status !== 'stopped') await unmountRootfs();
      // A seal still to write would put a file into the dir being removed (or into a new container's of the same id).
      await cancelSeal(paths.sealedExit);
      await this.removeStateDir(paths, record);
      this.logger.info({ containerId: id, exitCode: exit?.exitCode }, 'container deleted');
      return exit;
    });
  }

  /** After runc delete: the monitor records the exit and ends; a hung one is killed. */
  private async awaitMonitorExit(record: ContainerRecord, paths: ContainerPaths): Promise<ExitStatus | undefined> {
    const conmonPid = await readPidFile(paths.conmonPid);
    // conmon ends a few milliseconds after its container; nothing announces it
    // (it is not our child), so poll, fast at first: this is on every `run --rm`.
    const until = Date.now() + this.stopTimeoutMs;
    for (let delay = 2; Date.now() < until; delay = Math.min(delay * 2, 100)) {
      if (!(await isMonitorAlive(conmonPid, record.id))) break;
      await new Promise((r) => setTimeout(r, delay));
    }
    if (conmonPid !== undefined && (await isMonitorAlive(conmonPid, record.id))) {
      this.logger.warn({ containerId: record.id, conmonPid }, 'conmon did not exit after runc delete; killing it');
      process.kill(conmonPid, 'SIGKILL');
    }
    return this.readExit(paths);
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
    rmSync(paths.exitFile, { force: true });
    rmSync(paths.attachLink, { force: true });
    // Gone from containers/ at once (a new container of the same id may follow); its files
    // are deleted off the caller's path, with retries: a conmon ending may still write in there.
    this.removals.remove(paths.dir);
  }

  /** Settles once every state dir removed so far is deleted from disk. */
  removalsSettled(): Promise<void> {
    return this.removals.settled();
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
    // Asked while being created (an attach made with the create): what it
    // became, e.g. stopped with 127, is known once the create is done.
    await this.creates.get(id)?.done.catch(() => undefined);
    const record = await this.requireRecord(id);
    const paths = containerPaths(this.layout, id);
    return waitFor(
      async () => {
        const exit = await this.readExit(paths);
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
  private readExit(paths: ContainerPaths): ExitStatus | undefined {
    const sealed = readSealedExit(paths.sealedExit);
    if (sealed) return sealed;
    const exit = readConmonExit([paths.persistExit, paths.exitFile], paths.persistOom);
    // Reported at once, sealed in the background (the fsyncs would delay every exit report).
    if (exit) {
      sealInBackground(paths.sealedExit, exit, (err: unknown) => {
        // ENOENT: the container was deleted meanwhile, and its exit with it.
        if (errnoCode(err) !== 'ENOENT') this.logger.warn({ err, path: paths.sealedExit }, 'cannot seal the exit status; conmon\'s file still holds it');
      });
    }
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
    let exit = await this.readExit(paths);
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
      exit = await waitFor(async () => this.readExit(paths), { dir: this.layout.exitsDir, pollMs: 50, timeoutMs: 2000 }).catch(
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
    // State dirs whose deletion a crash cut short.
    await this.removals.purge();
    const runcStates = new Map((await this.runc.list()).map((s) => [s.id, s]));
    const ids: string[] = [];
    for (const entry of await readdir(this.layout.containersDir, { withFileTypes: true })) {
      if (entry.isDirectory()) ids.push(entry.name);
      else this.logger.warn({ path: join(this.layout.containersDir, entry.name) }, 'ignoring a stray file among container state dirs');
    }
    for (const id of ids.sort()) {
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
    // Exit files and attach links of containers that no longer exist.
    const known = new Set(report.containers.map((c) => c.id));
    for (const name of await readdir(this.layout.exitsDir)) {
      // "<id>.XXXXXX" is conmon writing an exit file right now: leave it.
      const writing = [...known].some((k) => name.startsWith(`${k}.`));
      if (!known.has(name) && !writing) await rm(join(this.layout.exitsDir, name), { force: true, recursive: true });
    }
    for (const name of await readdir(this.layout.attachDir)) {
      const owner = name.includes('.exec.') ? name.slice(0, name.indexOf('.exec.')) : name;
      if (!known.has(owner)) await rm(join(this.layout.attachDir, name), { force: true });
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
  async resize(id: string, size: TerminalSize): Promise<void> {
    validateId(id);
    const record = await this.requireRecord(id);
    if (!record.tty) throw new ContainerError('INVALID_ARGUMENT', `container ${id} has no terminal to resize`, { containerId: id });
    if (!(await writeControl(join(record.bundle, 'ctl'), resizeMessage(size, id)))) {
      throw new ContainerError('NOT_RUNNING', `cannot resize the terminal of ${id}: its monitor is not running`, { containerId: id });
    }
  }

  /** Connects to the container's stdio through conmon (see attach.ts). */
  /** A bridge set aside now for an attach made once a create is done (see BridgePool.reserve). */
  reserveAttach(): BridgeReservation {
    return this.bridges.reserve();
  }

  async attach(id: string, opts: { stdin?: boolean; reserved?: BridgeReservation } = {}): Promise<AttachSession> {
    validateId(id);
    const record = await this.requireRecord(id);
    await this.requireStatus(id, ['created', 'running', 'paused'], 'attach to');
    if (opts.stdin && !record.stdin) {
      throw new ContainerError('INVALID_ARGUMENT', `container ${id} was created without stdin`, { containerId: id });
    }
    try {
      return await attachSocket(record.bundle, { stdin: opts.stdin === true, bridges: this.bridges, ...(opts.reserved ? { reserved: opts.reserved } : {}) });
    } catch (err) {
      throw new ContainerError('RUNTIME_FAILED', (err as Error).message, { containerId: id, cause: err });
    }
  }

  /** Rotates the logs of `id` (or of every container) that reached their size limit; returns the rotated ids. */
  async rotateLogs(id?: string): Promise<string[]> {
    if (id !== undefined) validateId(id);
    const ids = id !== undefined ? [id] : await readdir(this.layout.containersDir).catch(() => [] as string[]);
    const rotated: string[] = [];
    for (const cid of ids) {
      // Under the container's lock: never while it is being deleted (a log renamed, and conmon
      // asked to reopen it, inside a directory being removed).
      await this.withLock(cid, async () => {
        const record = await readRecord(containerPaths(this.layout, cid).record).catch(() => undefined);
        if (!record || record.logMaxSize <= 0) return;
        const r = await rotateIfNeeded(record.logPath, join(record.bundle, 'ctl'), record.logMaxSize, record.logMaxFiles);
        if (r.rotated) rotated.push(cid);
      });
    }
    return rotated;
  }

  /** Ends what the runtime keeps running for itself (the spare attach bridge, the mount helper); containers are untouched. */
  close(): void {
    this.bridges.close();
    this.ownSyscalls?.close();
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
   * shared exit dir, which names the container whose exit file appeared, and
   * a slow full scan; returns a function that stops watching.
   */
  watchExits(onExit: (id: string, exit: ExitStatus) => void, opts: { includeExisting?: boolean } = {}): () => void {
    const reported = new Set<string>();
    const controller = new AbortController();
    // Synchronous on purpose: a few tiny reads, and the report leaves in the same turn.
    const check = (id: string, report: boolean): void => {
      const paths = containerPaths(this.layout, id);
      // No record: a stale exit file of a deleted container, or conmon's temp file.
      if (!existsSync(paths.record)) return;
      let exit: ExitStatus | undefined;
      try {
        exit = this.readExit(paths);
      } catch (err) {
        this.logger.warn({ containerId: id, err }, 'cannot read an exit status; the next scan tries again');
        return;
      }
      if (!exit) return;
      const key = `${id}@${exit.exitedAt}`;
      if (reported.has(key)) return;
      reported.add(key);
      if (report) onExit(id, exit);
    };
    void this.ensureDirs().then(() => {
      let report = opts.includeExisting === true;
      watchExitDir(
        this.layout.exitsDir,
        (ids) => {
          for (const id of ids) if (!controller.signal.aborted) check(id, report);
        },
        { pollMs: Math.max(this.pollMs, 1000), signal: controller.signal },
      );
      // Only the first scan, of the exits already on disk, may go unreported.
      report = true;
    });
    return () => controller.abort();
  }

  // ------------------------------------------------------------------ exec

  /** Starts an extra process in a running container, under its own conmon (see exec-sessions.ts). */
  execStart(id: string, opts: ExecOptions): Promise<ExecSession> {
    return this.execs.start(id, opts);
  }

  /** Runs a command to completion in a running container and returns its exit code and output. */
  exec(id: string, opts: Omit<ExecOptions, 'attach' | 'stdin'>): Promise<ExecResult> {
    return this.execs.run(id, opts);
  }

  /**
   * Defines an exec process in a running container without starting it
   * (startExec starts it; a client may attach in between). The definition is
   * checked now, so bad input fails here.
   */
  async createExec(id: string, execId: string, def: ExecDefinition): Promise<ExecState> {
    validateId(id);
    validateId(execId, 'exec id');
    return this.withLock(id, async () => {
      await this.requireStatus(id, ['running'], 'exec in');
      // Everything the start will do with the definition, done now so bad input (an unknown user...) fails here.
      await this.execs.processFor(await this.requireRecord(id), def);
      if ((await this.execRequests.get(id, execId)) || (await this.execs.state(id, execId))) {
        throw new ContainerError('ALREADY_EXISTS', `exec ${execId} already exists in container ${id}`, { containerId: id });
      }
      await this.execRequests.add(id, execId, def);
      return { execId, status: 'created' };
    });
  }

  /** Starts an exec process createExec defined; with attach, connects to its stdio before it runs. */
  async startExec(id: string, execId: string, opts: { attach?: boolean } = {}): Promise<ExecSession> {
    validateId(id);
    validateId(execId, 'exec id');
    return this.withLock(id, async () => {
      await this.requireRecord(id);
      if (await this.execs.state(id, execId)) {
        await this.execRequests.remove(id, execId); // a crash between start and this removal
        throw new ContainerError('INVALID_STATE', `exec ${execId} in container ${id} was already started`, { containerId: id });
      }
      const def = await this.execRequests.get(id, execId);
      if (!def) throw new ContainerError('NOT_FOUND', `no exec ${execId} in container ${id}`, { containerId: id });
      try {
        const session = await this.execs.start(id, { ...def, execId, attach: opts.attach === true });
        await this.execRequests.remove(id, execId);
        return session;
      } catch (err) {
        // A command that cannot run never will: the definition is spent. Other failures leave it to retry or delete.
        if (isContainerError(err, 'COMMAND_NOT_FOUND') || isContainerError(err, 'COMMAND_NOT_EXECUTABLE')) {
          await this.execRequests.remove(id, execId);
        }
        throw err;
      }
    });
  }

  /** One exec process: created (not started), running or stopped. */
  async execState(id: string, execId: string): Promise<ExecState> {
    validateId(id);
    validateId(execId, 'exec id');
    await this.requireRecord(id);
    const started = await this.execs.state(id, execId);
    if (started) return started;
    if (await this.execRequests.get(id, execId)) return { execId, status: 'created' };
    throw new ContainerError('NOT_FOUND', `no exec ${execId} in container ${id}`, { containerId: id });
  }

  /** Every exec process of the container (until deleted), by exec id. */
  async listExecs(id: string): Promise<ExecState[]> {
    validateId(id);
    const started = await this.execs.list(id);
    const created = (await this.execRequests.list(id)).filter((e) => !started.includes(e));
    const out: ExecState[] = created.map((execId) => ({ execId, status: 'created' as ExecStatus }));
    for (const execId of started) {
      const st = await this.execs.state(id, execId).catch(() => undefined);
      if (st) out.push(st);
    }
    return out.sort((a, b) => (a.execId < b.execId ? -1 : a.execId > b.execId ? 1 : 0));
  }

  /** Sends `signal` to a running exec process. */
  async killExec(id: string, execId: string, signal: string | number): Promise<void> {
    validateId(id);
    validateId(execId, 'exec id');
    const sig = parseSignal(signal);
    const st = await this.execState(id, execId);
    if (st.status === 'created') throw new ContainerError('NOT_RUNNING', `exec ${execId} in container ${id} has not been started`, { containerId: id });
    await this.execs.kill(id, execId, sig);
  }

  /** Connects to a running exec process's stdio. */
  attachExec(id: string, execId: string, opts: { stdin?: boolean } = {}): Promise<AttachSession> {
    return this.execs.attach(id, execId, opts);
  }

  /**
   * Removes an exec process and returns its exit status (none for one never
   * started). A running one needs force (it is killed first).
   */
  async deleteExec(id: string, execId: string, opts: { force?: boolean } = {}): Promise<ExitStatus | undefined> {
    validateId(id);
    validateId(execId, 'exec id');
    return this.withLock(id, async () => {
      const st = await this.execState(id, execId);
      if (st.status === 'created') {
        await this.execRequests.remove(id, execId);
        return undefined;
      }
      let exit = st.exit;
      if (st.status === 'running') {
        if (!opts.force) throw new ContainerError('IS_RUNNING', `exec ${execId} in container ${id} is running: stop it first or delete with force`, { containerId: id });
        await this.execs.kill(id, execId, 'SIGKILL').catch(() => undefined);
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new Error('timeout')), this.stopTimeoutMs);
        exit = await this.execs.wait(id, execId, controller.signal).catch(() => undefined);
        clearTimeout(timer);
      }
      await this.execs.remove(id, execId);
      return exit;
    });
  }

  /** Resolves with the exec's exit status once it exited; a created exec is waited for through its start. */
  async waitExec(id: string, execId: string, signal?: AbortSignal): Promise<ExitStatus> {
    validateId(id);
    validateId(execId, 'exec id');
    if (!(await this.execs.state(id, execId)) && (await this.execRequests.get(id, execId))) {
      await waitFor(
        async () => ((await this.execs.state(id, execId)) || !(await this.execRequests.get(id, execId)) ? true : undefined),
        { dir: containerPaths(this.layout, id).execRequestsDir, pollMs: this.pollMs, ...(signal ? { signal } : {}) },
      );
    }
    return this.execs.wait(id, execId, signal);
  }

  resizeExec(id: string, execId: string, size: TerminalSize): Promise<void> {
    return this.execs.resize(id, execId, size);
  }

  /** Removes an exec session's files (a process still running is killed). */
  removeExec(id: string, execId: string): Promise<void> {
    return this.execs.remove(id, execId);
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

  private mapRuncError(id: string, err: unknown, op: string, otherwise: 'RUNTIME_FAILED' | 'INVALID_ARGUMENT' = 'RUNTIME_FAILED'): ContainerError {
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
    return new ContainerError(otherwise, `cannot ${op} container ${id}: ${msg}`, { containerId: id, cause: err });
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

// In-memory neighbours for unit tests of the tasks service's decisions. They
// keep the contract's observable behaviour (NOT_FOUND for unknown things,
// ALREADY_EXISTS for taken names, exits reported through WaitTask) and let a
// test script failures, hangs and exits.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { agent, types } from '@berth/api';
import type {
  AgentPort,
  AgentTask,
  AgentTaskStatus,
  Attachment,
  AttachRequest,
  AttachStream,
  CreateTaskRequest,
  DnsRequest,
  EventSink,
  ExecProcessRequest,
  ImagesPort,
  NetworkingPort,
  NetworkReconcileResult,
  ResolvedImage,
  SnapshotsPort,
  StdioOptions,
} from '../src/ports.js';
import type { NameFiles, OciLinuxResources, OciProcess, OciSpec } from '@berth/runtime-spec';
import { TasksEngine } from '../src/engine.js';
import { TasksError } from '../src/errors.js';
import type { Logger, TasksSettings } from '../src/lifecycle/context.js';
import { openTasksStore } from '../src/store/schema.js';

export function grpcError(code: status, message: string): Error {
  return Object.assign(new Error(`${code} ${status[code]}: ${message}`), { code, details: message });
}

/** A start failure as the agent adapter reports it: the agent's berth-exit-code trailer (127, 126) read into exitCode. */
export function startFailure(message: string, exitCode: number): TasksError {
  return new TasksError(status.FAILED_PRECONDITION, message, { exitCode });
}

/** Lets a test make one call fail or hang. */
class Script {
  private readonly failures = new Map<string, Error>();
  private readonly hangs = new Set<string>();
  private readonly hangsAfter = new Set<string>();
  private readonly pausesAfter = new Map<string, Promise<void>>();
  readonly calls: string[] = [];

  failNext(method: string, error: Error): void {
    this.failures.set(method, error);
  }

  /** The next call of `method` never answers (a crash in the middle of it). */
  hangNext(method: string): void {
    this.hangs.add(method);
  }

  /** The next call of `method` does its work, then never answers (a crash just after it). */
  hangAfterNext(method: string): void {
    this.hangsAfter.add(method);
  }

  /** The next call of `method` does its work, then answers only once the returned function is called. */
  pauseAfterNext(method: string): () => void {
    let release!: () => void;
    this.pausesAfter.set(method, new Promise<void>((resolve) => (release = resolve)));
    return release;
  }

  /** Called by a fake when its work is done. */
  async leave(method: string): Promise<void> {
    if (this.hangsAfter.delete(method)) await new Promise(() => undefined);
    const pause = this.pausesAfter.get(method);
    if (pause) {
      this.pausesAfter.delete(method);
      await pause;
    }
  }

  async enter(method: string, detail = ''): Promise<void> {
    this.calls.push(detail ? `${method} ${detail}` : method);
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
    if (this.hangs.delete(method)) await new Promise(() => undefined);
  }
}

const descriptor = (digest: string): types.Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  size: 100,
  annotations: {},
  platform: undefined,
  urls: [],
  artifactType: '',
  data: Buffer.alloc(0),
});

export const BUSYBOX: ResolvedImage = {
  name: 'docker.io/library/busybox:latest',
  target: descriptor(`sha256:${'b'.repeat(64)}`),
  configDigest: `sha256:${'c'.repeat(64)}`,
  config: { Cmd: ['sh'], Env: ['PATH=/bin:/usr/bin'], StopSignal: 'SIGTERM' },
  chainId: `sha256:${'a'.repeat(64)}`,
};

export class FakeImages implements ImagesPort {
  readonly images = new Map<string, ResolvedImage>([
    ['busybox', BUSYBOX],
    [BUSYBOX.name, BUSYBOX],
  ]);
  readonly script = new Script();

  async resolve(_namespace: string, reference: string): Promise<ResolvedImage> {
    await this.script.enter('resolve', reference);
    const image = this.images.get(reference);
    if (!image) throw grpcError(status.NOT_FOUND, `image "${reference}": not found`);
    return image;
  }
}

export class FakeSnapshots implements SnapshotsPort {
  readonly snapshots = new Map<string, { parent: string; labels: Record<string, string>; dir: string }>();
  readonly script = new Script();

  constructor(private readonly root: string) {}

  async prepare(
    _namespace: string,
    req: { snapshotter: string; key: string; parent: string; labels: Record<string, string> },
  ): Promise<types.Mount[]> {
    await this.script.enter('prepare', req.key);
    if (this.snapshots.has(req.key)) throw grpcError(status.ALREADY_EXISTS, `snapshot ${req.key} already exists`);
    const dir = join(this.root, req.key);
    mkdirSync(dir, { recursive: true });
    this.snapshots.set(req.key, { parent: req.parent, labels: req.labels, dir });
    await this.script.leave('prepare');
    return this.mountsOf(dir);
  }

  private mountsOf(dir: string): types.Mount[] {
    return [{ type: 'bind', source: dir, target: '', options: ['rbind', 'rw'] }];
  }

  async mounts(_namespace: string, _snapshotter: string, key: string): Promise<types.Mount[]> {
    await this.script.enter('mounts', key);
    const snap = this.snapshots.get(key);
    if (!snap) throw grpcError(status.NOT_FOUND, `snapshot ${key} not found`);
    return this.mountsOf(snap.dir);
  }

  async listContainerSnapshots(_snapshotter: string, owner: string): Promise<{ key: string; containerId: string }[]> {
    await this.script.enter('list', owner);
    return [...this.snapshots]
      .filter(([, s]) => s.labels['org.berth.tasks.node'] === owner && s.labels['org.berth.container.id'])
      .map(([key, s]) => ({ key, containerId: s.labels['org.berth.container.id']! }));
  }

  async remove(_namespace: string, _snapshotter: string, key: string): Promise<boolean> {
    await this.script.enter('remove', key);
    const snap = this.snapshots.get(key);
    if (!snap) return false;
    rmSync(snap.dir, { recursive: true, force: true });
    this.snapshots.delete(key);
    return true;
  }
}

export class FakeNetworking implements NetworkingPort {
  readonly attachments = new Map<string, Attachment[]>();
  readonly dns = new Map<string, DnsRequest>();
  readonly script = new Script();
  readonly attachReqs: AttachRequest[] = [];
  private next = 2;

  async attach(_namespace: string, req: AttachRequest): Promise<Attachment> {
    await this.script.enter('attach', `${req.containerId.slice(0, 12)} ${req.network}`);
    if (req.network === 'missing') throw grpcError(status.NOT_FOUND, `network ${req.network} not found`);
    // As the networking service: an empty name means the first free ethN; a taken name clashes.
    const taken = new Set((this.attachments.get(req.containerId) ?? []).map((a) => a.interfaceName));
    if (req.interfaceName !== '' && taken.has(req.interfaceName)) {
      throw grpcError(status.ALREADY_EXISTS, `interface ${req.interfaceName} already exists in the namespace of ${req.containerId}`);
    }
    let interfaceName = req.interfaceName;
    for (let i = 0; interfaceName === ''; i++) if (!taken.has(`eth${i}`)) interfaceName = `eth${i}`;
    this.attachReqs.push(req);
    const n = this.next++;
    const attachment: Attachment = {
      network: req.network || 'bridge',
      interfaceName,
      ips: [{ address: `10.88.0.${n}/16`, gateway: '10.88.0.1' }],
      macAddress: `02:42:0a:58:00:${n.toString(16).padStart(2, '0')}`,
      ports: req.ports.map((p) => ({ ...p, hostIp: p.hostIp || '127.0.0.1', hostPort: p.hostPort || 30000 + n })),
    };
    this.attachments.set(req.containerId, [...(this.attachments.get(req.containerId) ?? []), attachment]);
    return attachment;
  }

  async detach(_namespace: string, containerId: string, network?: string): Promise<void> {
    await this.script.enter('detach', containerId.slice(0, 12));
    const left = (this.attachments.get(containerId) ?? []).filter((a) => network !== undefined && a.network !== network);
    if (left.length > 0) this.attachments.set(containerId, left);
    else this.attachments.delete(containerId);
  }

  async prepareDns(_namespace: string, req: DnsRequest): Promise<NameFiles> {
    await this.script.enter('prepareDns', req.containerId.slice(0, 12));
    this.dns.set(req.containerId, req);
    return { hostsPath: `/fake/${req.containerId}/hosts`, hostnamePath: `/fake/${req.containerId}/hostname`, resolvConfPath: `/fake/${req.containerId}/resolv.conf` };
  }

  async removeDns(_namespace: string, containerId: string): Promise<void> {
    await this.script.enter('removeDns', containerId.slice(0, 12));
    this.dns.delete(containerId);
  }

  readonly reconcileCalls: { liveContainerIds: string[]; node: string }[] = [];
  /** As the networking service: releases attachments and name files of containers not live. */
  async reconcile(_namespace: string, liveContainerIds: string[], node: string): Promise<NetworkReconcileResult> {
    await this.script.enter('reconcile', node);
    this.reconcileCalls.push({ liveContainerIds: [...liveContainerIds].sort(), node });
    const live = new Set(liveContainerIds);
    const released: string[] = [];
    for (const [id, list] of this.attachments) {
      if (live.has(id)) continue;
      released.push(...list.map((a) => `${id}/${a.network}`));
      this.attachments.delete(id);
    }
    const nameFilesRemoved = [...this.dns.keys()].filter((id) => !live.has(id));
    for (const id of nameFilesRemoved) this.dns.delete(id);
    return { released, netnsRemoved: [], nameFilesRemoved, failures: [] };
  }
}

interface FakeProcess {
  status: AgentTaskStatus;
  pid: number;
  exit: types.ExitStatus | undefined;
  waiters: ((s: types.ExitStatus) => void)[];
}

interface FakeTask extends FakeProcess {
  spec: OciSpec;
  rootfs: types.Mount[];
  stdio: StdioOptions;
  /** The user the agent was asked to resolve, and whether privileged. */
  user: string;
  privileged: boolean;
  /** Volumes the agent was asked to fill from the image. */
  copyUps: { path: string; target: string }[];
  execs: Map<string, FakeProcess & { process: OciProcess; user: string; privileged: boolean }>;
  resources: OciLinuxResources[];
}

let clockNanos = 0;
/** A strictly increasing exit time, as an agent recording nanoseconds would give. */
function exitTime(): types.ExitStatus['exitedAt'] {
  const ms = Date.now();
  clockNanos = (clockNanos + 1) % 1_000_000;
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 + clockNanos };
}

export class FakeAgent implements AgentPort {
  readonly tasks = new Map<string, FakeTask>();
  readonly netns = new Set<string>();
  readonly script = new Script();
  readonly kills: { id: string; execId: string; signal: number; all: boolean }[] = [];
  /** Containers whose init ignores every signal but SIGKILL. */
  readonly ignoresSignals = new Set<string>();
  /** Exit code a container's init exits with right after it starts. */
  readonly exitOnStart = new Map<string, number>();
  /** The image's files by directory, as the agent would find them in the rootfs: path -> { file name: content }. */
  readonly imageFiles = new Map<string, Record<string, string>>();
  private nextPid = 1000;

  private task(id: string): FakeTask {
    const task = this.tasks.get(id);
    if (!task) throw grpcError(status.NOT_FOUND, `no task for container ${id}`);
    return task;
  }

  async createNetns(name: string): Promise<string> {
    await this.script.enter('createNetns', name.slice(0, 12));
    if (this.netns.has(name)) throw grpcError(status.ALREADY_EXISTS, `netns ${name} exists`);
    this.netns.add(name);
    return `/run/berth/netns/${name}`;
  }

  async removeNetns(name: string): Promise<void> {
    await this.script.enter('removeNetns', name.slice(0, 12));
    this.netns.delete(name);
  }

  async createTask(req: CreateTaskRequest): Promise<{ pid: number }> {
    await this.script.enter('createTask', req.containerId.slice(0, 12));
    if (this.tasks.has(req.containerId)) throw grpcError(status.ALREADY_EXISTS, `task ${req.containerId} exists`);
    // As the agent does: an empty volume directory gets the image's files at the mount path.
    for (const c of req.copyUps) {
      mkdirSync(c.target, { recursive: true });
      const files = this.imageFiles.get(c.path);
      if (!files || readdirSync(c.target).length > 0) continue;
      for (const [name, content] of Object.entries(files)) writeFileSync(join(c.target, name), content);
    }
    const pid = this.nextPid++;
    this.tasks.set(req.containerId, {
      status: 'created',
      pid,
      exit: undefined,
      waiters: [],
      spec: req.spec,
      rootfs: req.rootfs,
      stdio: req.stdio,
      user: req.user,
      privileged: req.privileged,
      copyUps: req.copyUps,
      execs: new Map(),
      resources: [],
    });
    return { pid };
  }

  async startTask(containerId: string, execId: string): Promise<number> {
    await this.script.enter('startTask', `${containerId.slice(0, 12)}${execId ? `/${execId}` : ''}`);
    const task = this.task(containerId);
    if (execId !== '') {
      const exec = task.execs.get(execId);
      if (!exec) throw grpcError(status.NOT_FOUND, `no exec ${execId}`);
      exec.status = 'running';
      exec.pid = this.nextPid++;
      return exec.pid;
    }
    if (task.status !== 'created') throw grpcError(status.FAILED_PRECONDITION, `task ${containerId} is ${task.status}`);
    task.status = 'running';
    const code = this.exitOnStart.get(containerId);
    if (code !== undefined) setImmediate(() => this.exit(containerId, code));
    await this.script.leave('startTask');
    return task.pid;
  }

  /** The init process exits (as the monitor would report). */
  exit(containerId: string, exitCode: number, signal = 0): void {
    const task = this.task(containerId);
    if (task.status === 'stopped') return;
    this.finish(task, { exitCode, signal, oomKilled: false, exitedAt: exitTime() });
    for (const exec of task.execs.values()) {
      if (exec.status !== 'stopped') this.finish(exec, { exitCode: 137, signal: 9, oomKilled: false, exitedAt: exitTime() });
    }
  }

  /** An exec process exits. */
  exitExec(containerId: string, execId: string, exitCode: number): void {
    const exec = this.task(containerId).execs.get(execId);
    if (!exec) throw new Error(`no exec ${execId}`);
    this.finish(exec, { exitCode, signal: 0, oomKilled: false, exitedAt: exitTime() });
  }

  private finish(p: FakeProcess, exit: types.ExitStatus): void {
    p.status = 'stopped';
    p.pid = 0;
    p.exit = exit;
    const waiters = p.waiters.splice(0);
    for (const w of waiters) w(exit);
  }

  async killTask(containerId: string, execId: string, signal: number, all: boolean): Promise<void> {
    await this.script.enter('killTask', `${containerId.slice(0, 12)} ${signal}`);
    const task = this.task(containerId);
    this.kills.push({ id: containerId, execId, signal, all });
    if (execId !== '') {
      const exec = task.execs.get(execId);
      if (!exec) throw grpcError(status.NOT_FOUND, `no exec ${execId}`);
      this.finish(exec, { exitCode: 128 + signal, signal, oomKilled: false, exitedAt: exitTime() });
      return;
    }
    if (task.status !== 'running' && task.status !== 'paused') {
      throw grpcError(status.FAILED_PRECONDITION, `task ${containerId} is ${task.status}`);
    }
    if (signal === 9 || !this.ignoresSignals.has(containerId)) setImmediate(() => this.exit(containerId, 128 + signal, signal));
  }

  async deleteTask(containerId: string, execId: string, force: boolean): Promise<types.ExitStatus | undefined> {
    await this.script.enter('deleteTask', containerId.slice(0, 12));
    const task = this.task(containerId);
    if (execId !== '') {
      const exec = task.execs.get(execId);
      if (!exec) throw grpcError(status.NOT_FOUND, `no exec ${execId}`);
      task.execs.delete(execId);
      return exec.exit;
    }
    if (task.status === 'running' || task.status === 'paused') {
      if (!force) throw grpcError(status.FAILED_PRECONDITION, `task ${containerId} is running`);
      this.exit(containerId, 137, 9);
    }
    this.tasks.delete(containerId);
    await this.script.leave('deleteTask');
    return task.exit;
  }

  private view(id: string, t: FakeTask): AgentTask {
    return { containerId: id, status: t.status, pid: t.pid, exitStatus: t.exit, execIds: [...t.execs.keys()] };
  }

  async getTask(containerId: string): Promise<AgentTask | undefined> {
    await this.script.enter('getTask', containerId.slice(0, 12));
    const t = this.tasks.get(containerId);
    return t ? this.view(containerId, t) : undefined;
  }

  async listTasks(): Promise<AgentTask[]> {
    await this.script.enter('listTasks');
    const list = [...this.tasks].map(([id, t]) => this.view(id, t));
    await this.script.leave('listTasks');
    return list;
  }

  async waitTask(containerId: string, execId: string, signal: AbortSignal): Promise<types.ExitStatus> {
    await this.script.enter('waitTask', `${containerId.slice(0, 12)}${execId ? `/${execId}` : ''}`);
    const task = this.task(containerId);
    const p: FakeProcess | undefined = execId === '' ? task : task.execs.get(execId);
    if (!p) throw grpcError(status.NOT_FOUND, `no exec ${execId}`);
    if (p.exit) return p.exit;
    return new Promise((resolve, reject) => {
      p.waiters.push(resolve);
      signal.addEventListener('abort', () => reject(grpcError(status.CANCELLED, 'cancelled')), { once: true });
    });
  }

  async execProcess(req: ExecProcessRequest): Promise<void> {
    await this.script.enter('execProcess', `${req.containerId.slice(0, 12)}/${req.execId}`);
    const task = this.task(req.containerId);
    if (task.execs.has(req.execId)) throw grpcError(status.ALREADY_EXISTS, `exec ${req.execId} exists`);
    task.execs.set(req.execId, { status: 'created', pid: 0, exit: undefined, waiters: [], process: req.process, user: req.user, privileged: req.privileged });
  }

  async pauseTask(containerId: string): Promise<void> {
    await this.script.enter('pauseTask', containerId.slice(0, 12));
    this.task(containerId).status = 'paused';
  }

  async resumeTask(containerId: string): Promise<void> {
    await this.script.enter('resumeTask', containerId.slice(0, 12));
    const task = this.task(containerId);
    if (task.status === 'paused') task.status = 'running';
  }

  async listPids(containerId: string): Promise<types.ProcessInfo[]> {
    const task = this.task(containerId);
    return [{ pid: task.pid, ppid: 1, uid: 0, args: task.spec.process.args, execId: '', startedAt: undefined, cpuTimeNs: 0, rssBytes: 0 }];
  }

  async stats(containerId: string): Promise<types.TaskStats> {
    this.task(containerId);
    return {
      containerId,
      readAt: undefined,
      cpu: undefined,
      memory: { usageBytes: 4096, maxUsageBytes: 0, limitBytes: 0, cacheBytes: 0, rssBytes: 4096, swapBytes: 0, oomEvents: 0 },
      pids: { current: 1, limit: 0 },
      networks: [],
      blockIo: undefined,
      cgroupVersion: 1,
    };
  }

  readonly resizes: { id: string; execId: string; size: types.TtySize }[] = [];
  async resizePty(containerId: string, execId: string, size: types.TtySize): Promise<void> {
    this.task(containerId);
    this.resizes.push({ id: containerId, execId, size });
  }

  async updateResources(containerId: string, resources: OciLinuxResources): Promise<void> {
    await this.script.enter('updateResources', containerId.slice(0, 12));
    this.task(containerId).resources.push(resources);
  }

  readonly attachSessions: FakeAttachStream[] = [];
  attach(): AttachStream {
    const stream = new FakeAttachStream();
    this.attachSessions.push(stream);
    return stream;
  }
}

/** An attach stream whose output the test feeds. */
export class FakeAttachStream implements AttachStream {
  readonly connected = Promise.resolve();
  readonly sent: agent.AttachTaskRequest[] = [];
  ended = false;
  cancelled = false;
  private readonly queue: agent.AttachTaskResponse[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  send(frame: agent.AttachTaskRequest): void {
    this.sent.push(frame);
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
    this.close();
  }
  push(frame: agent.AttachTaskResponse): void {
    this.queue.push(frame);
    this.wake?.();
  }
  close(): void {
    this.closed = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<agent.AttachTaskResponse> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

export interface PublishedEvent {
  namespace: string;
  type: string;
  payload: unknown;
  durable: boolean;
  id: string | undefined;
}

export class FakeEvents implements EventSink {
  readonly published: PublishedEvent[] = [];
  failDurable = false;

  async publish(namespace: string, type: string, payload: unknown, options: { durable: boolean; id?: string }): Promise<void> {
    if (options.durable && this.failDurable) throw new Error('JetStream unavailable');
    this.published.push({ namespace, type, payload, durable: options.durable, id: options.id });
  }

  ofType(type: string): PublishedEvent[] {
    return this.published.filter((e) => e.type === type);
  }
}

export const silentLogger: Logger & { warnings: string[] } = {
  warnings: [],
  debug: () => undefined,
  info: () => undefined,
  warn(_obj: object, msg?: string) {
    this.warnings.push(msg ?? '');
  },
  error(_obj: object, msg?: string) {
    this.warnings.push(msg ?? '');
  },
};

export function testSettings(stateDir: string, overrides: Partial<TasksSettings> = {}): TasksSettings {
  return {
    nodeId: 'node-1',
    eventNamespace: 'default',
    stateDir,
    cgroupParent: '/berth',
    initBinary: undefined,
    host: {
      cpus: 2,
      memoryBytes: 8 * 1024 ** 3,
      hostname: 'testhost',
      swapAccounting: true,
      nofileHardLimit: 20_000,
    },
    backoff: { initialMs: 5, maxMs: 40, resetAfterMs: 10_000 },
    logMaxBytes: 1024 * 1024,
    logMaxFiles: 3,
    defaultStopTimeoutSeconds: 10,
    killGraceMs: 5_000,
    ...overrides,
  };
}

/** A tasks engine over fakes, with its store in a temp dir so a test can "restart" the service. */
export class Harness {
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-tasks-test-'));
  readonly dbPath = join(this.dir, 'tasks.db');
  readonly agent = new FakeAgent();
  readonly images = new FakeImages();
  readonly snapshots = new FakeSnapshots(join(this.dir, 'snapshots'));
  readonly networking = new FakeNetworking();
  readonly events = new FakeEvents();
  readonly unavailableNodes = new Set<string>();
  engine: TasksEngine;
  private readonly engines: TasksEngine[] = [];

  constructor(private readonly overrides: Partial<TasksSettings> = {}) {
    this.engine = this.make();
  }

  get stateDir(): string {
    return join(this.dir, 'state');
  }

  private make(): TasksEngine {
    const engine = new TasksEngine({
      db: openTasksStore(this.dbPath),
      agents: { forNode: () => this.agent },
      images: this.images,
      snapshots: this.snapshots,
      networking: this.networking,
      events: this.events,
      nodes: { isAvailable: (id) => !this.unavailableNodes.has(id) },
      logger: silentLogger,
      settings: testSettings(this.stateDir, this.overrides),
    });
    this.engines.push(engine);
    return engine;
  }

  /**
   * A new service process over the same store and neighbours, as after a
   * kill -9: the old engine is abandoned mid-flight (its watchers stopped so
   * it cannot act any more), the new one reconciles.
   */
  async restart() {
    const old = this.engine;
    void old.close();
    this.engine = this.make();
    return this.engine.start();
  }

  async close(): Promise<void> {
    await Promise.all(this.engines.map((e) => Promise.race([e.close(), new Promise((r) => setTimeout(r, 200))])));
    for (const e of this.engines) e.runtime.store.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls until `check` returns a defined value (or throws after `ms`). */
export async function eventually<T>(check: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

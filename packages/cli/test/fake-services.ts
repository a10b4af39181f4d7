// A stand-in for the images and tasks services on unix sockets, speaking the
// real gRPC contract, so the CLI's run flow (pull, create, attach, start,
// stdio, signals, exit codes, --rm) can be checked in detail and on demand.
// The e2e suite runs the same commands against the real stack.
import * as grpc from '@grpc/grpc-js';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { images, tasks, timestampFromDate, withUnimplemented, type types } from '@berth/api';
import { ERROR_REASON_METADATA_KEY, ErrorReason } from '@berth/api/metadata';
import { resolveReference } from '../src/parse/reference.js';

export const KNOWN_IMAGE = 'docker.io/library/busybox:latest';
const SIGNALS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 };

interface Output {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

interface FakeContainer {
  id: string;
  name: string;
  spec: tasks.ContainerSpec;
  state: tasks.ContainerState;
  exit?: types.ExitStatus;
  error: string;
  log: Output[];
  /** Attach and run calls relaying its output. */
  attached: Set<Attached>;
  followers: Set<grpc.ServerWritableStream<tasks.ReadLogsRequest, tasks.ReadLogsResponse>>;
  waiters: ((s: types.ExitStatus) => void)[];
  /** stdin that arrived before the process started (a pipe would hold it). */
  pendingStdin: Buffer[];
  stdinClosed: boolean;
  onStdin?: (data: Buffer) => void;
  onStdinClosed?: () => void;
  onSignal?: (signal: number) => void;
}

interface Attached {
  write(msg: tasks.AttachTaskResponse): unknown;
  end(): void;
}

export interface FakeOptions {
  /** Send response headers once attached (what the CLI waits for). */
  confirmAttach: boolean;
  /** Serve in this runtime dir (made, and removed at stop) instead of a new temp one. */
  runtimeDir?: string;
}

export interface FakeStack {
  runtimeDir: string;
  options: FakeOptions;
  containers: Map<string, FakeContainer>;
  images: Set<string>;
  calls: string[];
  /** Resolves when a container with this name runs. */
  running(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** A new process's output, attachments and stdin, none yet. */
const freshStdio = () => ({
  log: [] as Output[],
  attached: new Set<Attached>(),
  followers: new Set<grpc.ServerWritableStream<tasks.ReadLogsRequest, tasks.ReadLogsResponse>>(),
  waiters: [] as ((s: types.ExitStatus) => void)[],
  pendingStdin: [] as Buffer[],
  stdinClosed: false,
});

const status = (code: number, details: string) => Object.assign(new Error(details), { code, details });

export async function startFakeStack(options: FakeOptions): Promise<FakeStack> {
  const runtimeDir = options.runtimeDir ?? (await mkdtemp(join(tmpdir(), 'berth-cli-fake-')));
  await mkdir(runtimeDir, { recursive: true });
  const containers = new Map<string, FakeContainer>();
  const knownImages = new Set<string>();
  const calls: string[] = [];
  const runningWaiters = new Map<string, () => void>();
  let counter = 0;
  let samples = 0;

  const execs = new Map<string, FakeContainer>();
  const findProcess = (ref: string, execId: string): FakeContainer => {
    const c = find(ref);
    if (execId === '') return c;
    const e = execs.get(`${c.id}/${execId}`);
    if (!e) throw status(grpc.status.NOT_FOUND, `no exec ${execId} in ${c.name}`);
    return e;
  };
  const find = (ref: string): FakeContainer => {
    const c = [...containers.values()].find((x) => x.id === ref || x.name === ref || x.id.startsWith(ref));
    if (!c) throw status(grpc.status.NOT_FOUND, `no such container: ${ref}`);
    return c;
  };
  const record = (c: FakeContainer): tasks.Container =>
    tasks.Container.fromPartial({
      id: c.id,
      name: c.name,
      spec: c.spec,
      imageName: KNOWN_IMAGE,
      createdAt: timestampFromDate(new Date()),
      status: { state: c.state, exitStatus: c.exit, error: c.error },
    });
  const unary =
    <Req, Res>(name: string, fn: (req: Req) => Res | Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      calls.push(name);
      Promise.resolve()
        .then(() => fn(call.request))
        .then((r) => cb(null, r), (e: grpc.ServiceError) => cb(e));
    };

  function emit(c: FakeContainer, stream: 'stdout' | 'stderr', text: string) {
    const out = { stream, data: Buffer.from(text) };
    c.log.push(out);
    for (const a of c.attached) a.write({ frame: { $case: stream, value: out.data } });
    for (const f of c.followers) f.write({ entries: [logEntry(out)] });
  }
  function exit(c: FakeContainer, exitCode: number, signal = 0) {
    c.state = tasks.ContainerState.STOPPED;
    c.exit = { exitCode, signal, oomKilled: false, exitedAt: timestampFromDate(new Date()) };
    for (const a of c.attached) a.write({ frame: { $case: 'exit', value: c.exit } });
    // as the tasks service: an auto-remove container goes at its exit, before a RunContainer call ends
    if (c.spec.autoRemove) containers.delete(c.id);
    for (const a of c.attached) a.end();
    c.attached.clear();
    for (const f of c.followers) f.end();
    c.followers.clear();
    for (const w of c.waiters.splice(0)) w(c.exit);
  }
  const logEntry = (o: Output): tasks.LogEntry => ({
    stream: o.stream === 'stderr' ? tasks.LogStream.STDERR : tasks.LogStream.STDOUT,
    time: timestampFromDate(new Date()),
    data: o.data,
    partial: false,
  });

  /** What the fake "process" does, by its first argument. */
  function runProcess(c: FakeContainer) {
    const [cmd = '', ...args] = [...(c.spec.entrypoint?.args ?? []), ...(c.spec.cmd?.args ?? [])];
    c.state = tasks.ContainerState.RUNNING;
    runningWaiters.get(c.name)?.();
    setImmediate(() => {
      if (cmd === 'echo') {
        emit(c, 'stdout', `${args.join(' ')}\n`);
        exit(c, 0);
      } else if (cmd === 'fail') {
        emit(c, 'stdout', 'out\n');
        emit(c, 'stderr', 'failing\n');
        exit(c, Number(args[0] ?? 1));
      } else if (cmd === 'cat') {
        c.onStdin = (data) => emit(c, 'stdout', data.toString());
        c.onStdinClosed = () => exit(c, 0);
        for (const data of c.pendingStdin.splice(0)) c.onStdin(data);
        if (c.stdinClosed) c.onStdinClosed();
      } else if (cmd === 'sleep') {
        c.onSignal = (signo) => {
          if (signo !== SIGNALS['SIGINT']) exit(c, 128 + signo, signo);
        };
      } else exit(c, 0);
    });
  }

  /** As the tasks service: a missing image is NOT_FOUND with the reason that makes the CLI pull it. */
  function createContainer(req: tasks.CreateContainerRequest): FakeContainer {
    const image = resolveReference(req.spec?.image ?? '').string();
    if (!knownImages.has(image)) {
      const metadata = new grpc.Metadata();
      metadata.set(ERROR_REASON_METADATA_KEY, ErrorReason.IMAGE_NOT_FOUND);
      throw Object.assign(status(grpc.status.NOT_FOUND, `no such image: ${image} (pull it first)`), { metadata });
    }
    const name = req.name || `fake_${++counter}`;
    if ([...containers.values()].some((c) => c.name === name)) throw status(grpc.status.ALREADY_EXISTS, `name ${name} is taken`);
    const id = (++counter).toString(16).padStart(64, '0');
    const c: FakeContainer = {
      id,
      name,
      spec: req.spec!,
      state: tasks.ContainerState.CREATED,
      error: '',
      ...freshStdio(),
    };
    containers.set(id, c);
    return c;
  }
  /** A command the fake does not know fails as runc would (exit code 127 recorded). */
  function createTask(c: FakeContainer): void {
    const cmd = [...(c.spec.entrypoint?.args ?? []), ...(c.spec.cmd?.args ?? [])][0] ?? '';
    if (cmd === 'no-such-cmd') {
      c.error = `runc create failed: exec: "${cmd}": executable file not found in $PATH`;
      c.exit = { exitCode: 127, signal: 0, oomKilled: false, exitedAt: timestampFromDate(new Date()) };
      throw status(grpc.status.FAILED_PRECONDITION, `cannot create the task of container ${c.name}: ${c.error}`);
    }
  }
  /** stdin, its end, from an attach or run call. */
  function stdio(c: FakeContainer | undefined, f: tasks.AttachTaskRequest['frame']): void {
    if (f?.$case === 'stdin') {
      if (c?.onStdin) c.onStdin(f.value);
      else c?.pendingStdin.push(f.value);
    } else if (f?.$case === 'closeStdin' && c) {
      c.stdinClosed = true;
      c.onStdinClosed?.();
    }
  }

  const imagesServer = withUnimplemented<images.ImagesServer>(images.ImagesService, {
    getImage: unary('GetImage', (req: images.GetImageRequest) => {
      if (!knownImages.has(req.name)) throw status(grpc.status.NOT_FOUND, `image ${req.name} not found`);
      return { image: images.Image.fromPartial({ name: req.name, target: { digest: 'sha256:' + 'a'.repeat(64), size: 10 } }) };
    }),
  });
  const transferServer = withUnimplemented<images.TransferServer>(images.TransferService, {
    pullImage: (call) => {
      calls.push('PullImage');
      const ref = call.request.reference;
      if (ref !== KNOWN_IMAGE) {
        call.emit('error', status(grpc.status.NOT_FOUND, `manifest unknown: ${ref}`));
        return;
      }
      const layer = { digest: 'sha256:' + 'b'.repeat(64), size: 1000, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
      call.write({ event: { $case: 'resolved', value: images.PullResolved.fromPartial({ name: ref, layers: [layer] }) } });
      for (const state of ['PROGRESS_STATE_DOWNLOADING', 'PROGRESS_STATE_EXTRACTING', 'PROGRESS_STATE_DONE'] as types.ProgressState[]) {
        call.write({
          event: {
            $case: 'progress',
            value: { blobs: [{ id: 'bbbbbbbbbbbb', digest: layer.digest, mediaType: layer.mediaType, state, current: 1000, total: 1000 }] },
          },
        });
      }
      knownImages.add(ref);
      call.write({ event: { $case: 'image', value: images.Image.fromPartial({ name: ref, target: { digest: 'sha256:' + 'a'.repeat(64) } }) } });
      call.end();
    },
  });
  const containersServer = withUnimplemented<tasks.ContainersServer>(tasks.ContainersService, {
    createContainer: unary('CreateContainer', (req: tasks.CreateContainerRequest) => ({ container: record(createContainer(req)) })),
    getContainer: unary('GetContainer', (req: tasks.GetContainerRequest) => ({ container: record(find(req.id)) })),
    listContainers: unary('ListContainers', () => ({ containers: [...containers.values()].map(record) })),
    deleteContainer: unary('DeleteContainer', (req: tasks.DeleteContainerRequest) => {
      const c = find(req.id);
      if (c.state === tasks.ContainerState.RUNNING && !req.force) throw status(grpc.status.FAILED_PRECONDITION, `${c.name} runs`);
      containers.delete(c.id);
      return { container: record(c) };
    }),
  });
  const tasksServer = withUnimplemented<tasks.TasksServer>(tasks.TasksService, {
    createTask: unary('CreateTask', (req: tasks.CreateTaskRequest) => {
      createTask(find(req.containerId));
      return { pid: 1234 };
    }),
    startTask: unary('StartTask', (req: tasks.StartTaskRequest) => {
      runProcess(findProcess(req.containerId, req.execId));
      return { pid: 1234 };
    }),
    getTaskStats: unary('GetTaskStats', (req: tasks.GetTaskStatsRequest) => {
      const running = [...containers.values()].filter((c) => c.state === tasks.ContainerState.RUNNING);
      const wanted = req.containerIds.length > 0 ? req.containerIds.map(find) : running;
      samples++;
      return tasks.GetTaskStatsResponse.fromPartial({
        stats: wanted.map((c) => ({
          containerId: c.id,
          // half a CPU of two, every sample
          cpu: { usageTotalNs: samples * 1e9, systemUsageNs: samples * 4e9, onlineCpus: 2 },
          memory: { usageBytes: 48 * 1024 * 1024, cacheBytes: 16 * 1024 * 1024, limitBytes: 64 * 1024 * 1024 },
          pids: { current: 2, limit: 0 },
          networks: [],
          cgroupVersion: 1,
        })),
      });
    }),
    listProcesses: unary('ListProcesses', (req: tasks.ListProcessesRequest) => {
      find(req.containerId);
      return tasks.ListProcessesResponse.fromPartial({
        processes: [{ pid: 4321, ppid: 4300, uid: 0, args: ['sleep', 'forever'], execId: '', cpuTimeNs: 65e9, rssBytes: 1_500_000 }],
      });
    }),
    execProcess: unary('ExecProcess', (req: tasks.ExecProcessRequest) => {
      const c = find(req.containerId);
      if (c.state !== tasks.ContainerState.RUNNING) throw status(grpc.status.FAILED_PRECONDITION, `container ${c.name} is not running`);
      const execId = `exec${++counter}`;
      execs.set(`${c.id}/${execId}`, {
        ...c,
        name: `${c.name}/${execId}`,
        spec: tasks.ContainerSpec.fromPartial({ cmd: { args: req.process?.args ?? [] } }),
        state: tasks.ContainerState.CREATED,
        exit: undefined,
        ...freshStdio(),
      });
      return { execId };
    }),
    killTask: unary('KillTask', (req: tasks.KillTaskRequest) => {
      calls.push(`KillTask ${req.signal}`);
      find(req.containerId).onSignal?.(SIGNALS[req.signal] ?? 9);
      return {};
    }),
    waitTask: unary('WaitTask', (req: tasks.WaitTaskRequest) => {
      const c = findProcess(req.containerId, req.execId);
      return c.exit ? { exitStatus: c.exit } : new Promise<tasks.WaitTaskResponse>((r) => c.waiters.push((exitStatus) => r({ exitStatus })));
    }),
    attachTask: (call) => {
      calls.push('AttachTask');
      let c: FakeContainer | undefined;
      call.on('data', (req: tasks.AttachTaskRequest) => {
        const f = req.frame;
        if (f?.$case === 'target') {
          c = findProcess(f.value.containerId, f.value.execId);
          c.attached.add(call);
          if (options.confirmAttach) call.sendMetadata(new grpc.Metadata());
        } else stdio(c, f);
      });
      call.on('cancelled', () => c?.attached.delete(call));
      call.on('error', () => c?.attached.delete(call));
    },
    runContainer: (call) => {
      calls.push('RunContainer');
      let c: FakeContainer | undefined;
      call.on('data', (req: tasks.RunContainerRequest) => {
        const f = req.frame;
        if (f?.$case !== 'start') return stdio(c, f);
        const start = f.value;
        // a create that never answers
        if (start.create?.spec?.cmd?.args[0] === 'hang-create') return;
        try {
          const create = start.create!;
          c = createContainer(start.remove ? { ...create, spec: { ...create.spec!, autoRemove: true } } : create);
          call.write({ frame: { $case: 'created', value: record(c) } });
          if (!start.detach) {
            createTask(c);
            c.attached.add(call);
          }
          runProcess(c);
          call.write({ frame: { $case: 'startedPid', value: 1234 } });
          if (start.detach) call.end();
        } catch (err) {
          if (c && start.remove) containers.delete(c.id);
          call.emit('error', err);
        }
      });
      call.on('cancelled', () => c?.attached.delete(call));
    },
    readLogs: (call) => {
      calls.push('ReadLogs');
      const c = find(call.request.containerId);
      if (c.log.length > 0) call.write({ entries: c.log.map(logEntry) });
      if (!call.request.follow || c.state === tasks.ContainerState.STOPPED) call.end();
      else c.followers.add(call);
    },
  });

  const server = new grpc.Server();
  server.addService(images.ImagesService, imagesServer);
  server.addService(images.TransferService, transferServer);
  server.addService(tasks.ContainersService, containersServer);
  server.addService(tasks.TasksService, tasksServer);
  // one server answers on both sockets, as two services would
  for (const name of ['images', 'tasks']) {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${join(runtimeDir, `${name}.sock`)}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
  }

  return {
    runtimeDir,
    options,
    containers,
    images: knownImages,
    calls,
    running: (name) => new Promise<void>((resolve) => runningWaiters.set(name, resolve)),
    stop: async () => {
      server.forceShutdown();
      await rm(runtimeDir, { recursive: true, force: true });
    },
  };
}

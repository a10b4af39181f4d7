// berth.tasks.v1.Tasks over the engine, including the attach and logs streams.
import * as grpc from '@grpc/grpc-js';
import { callEnding, serverStream, unary } from '@berth/service-kit';
import { nanosFromTimestamp, tasks, timestampFromNanos } from '@berth/api';
import type { TasksEngine } from '../engine.js';
import { invalidArgument } from '../errors.js';
import type { StreamName } from '../logs/format.js';
import { readLogs } from '../logs/reader.js';
import { namespaceOf } from './namespace.js';
import { runContainer } from './run-handler.js';
import { relayStdio } from './stdio-relay.js';

/** An AbortSignal that fires when the client cancels the call (or its deadline passes). */
function cancelSignal(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort(new Error('call cancelled'));
  else call.once('cancelled', () => controller.abort(new Error('call cancelled')));
  return controller.signal;
}

const STREAM_NAMES: Partial<Record<tasks.LogStream, StreamName>> = {
  [tasks.LogStream.STDOUT]: 'stdout',
  [tasks.LogStream.STDERR]: 'stderr',
};

export function tasksHandlers(engine: TasksEngine): tasks.TasksServer {
  const api = engine.tasks;
  return {
    createTask: unary<tasks.CreateTaskRequest, tasks.CreateTaskResponse>(async (req, call) => ({
      pid: await api.createTask(namespaceOf(call), req.containerId),
    })),
    startTask: unary<tasks.StartTaskRequest, tasks.StartTaskResponse>(async (req, call) => ({
      pid: await api.startTask(namespaceOf(call), req.containerId, req.execId),
    })),
    stopTask: unary<tasks.StopTaskRequest, tasks.StopTaskResponse>(async (req, call) => ({
      exitStatus: await api.stopTask(namespaceOf(call), req, cancelSignal(call)),
    })),
    killTask: unary<tasks.KillTaskRequest, tasks.KillTaskResponse>(async (req, call) => {
      await api.killTask(namespaceOf(call), req);
      return {};
    }),
    deleteTask: unary<tasks.DeleteTaskRequest, tasks.DeleteTaskResponse>(async (req, call) => ({
      exitStatus: await api.deleteTask(namespaceOf(call), req),
    })),
    waitTask: unary<tasks.WaitTaskRequest, tasks.WaitTaskResponse>(async (req, call) => ({
      exitStatus: await api.waitTask(namespaceOf(call), req.containerId, req.execId, cancelSignal(call)),
    })),
    execProcess: unary<tasks.ExecProcessRequest, tasks.ExecProcessResponse>(async (req, call) => ({
      execId: await api.execProcess(namespaceOf(call), req),
    })),
    pauseTask: unary<tasks.PauseTaskRequest, tasks.PauseTaskResponse>(async (req, call) => {
      await api.pauseTask(namespaceOf(call), req.containerId);
      return {};
    }),
    resumeTask: unary<tasks.ResumeTaskRequest, tasks.ResumeTaskResponse>(async (req, call) => {
      await api.resumeTask(namespaceOf(call), req.containerId);
      return {};
    }),
    listProcesses: unary<tasks.ListProcessesRequest, tasks.ListProcessesResponse>(async (req, call) => ({
      processes: await api.listProcesses(namespaceOf(call), req.containerId),
    })),
    getTaskStats: unary<tasks.GetTaskStatsRequest, tasks.GetTaskStatsResponse>(async (req, call) => ({
      stats: await api.stats(namespaceOf(call), req.containerIds),
    })),
    resizePty: unary<tasks.ResizePtyRequest, tasks.ResizePtyResponse>(async (req, call) => {
      await api.resizePty(namespaceOf(call), req);
      return {};
    }),
    updateTask: unary<tasks.UpdateTaskRequest, tasks.UpdateTaskResponse>(async (req, call) => {
      await api.updateTask(namespaceOf(call), req);
      return {};
    }),
    attachTask: (call) => attach(engine, call),
    runContainer: (call) => runContainer(engine, call),
    readLogs: serverStream<tasks.ReadLogsRequest, tasks.ReadLogsResponse>((req, call) => logs(engine, req, call)),
  };
}

/** Pumps frames between the client and the agent's attach stream; the exit frame ends it. */
function attach(engine: TasksEngine, call: grpc.ServerDuplexStream<tasks.AttachTaskRequest, tasks.AttachTaskResponse>): void {
  const ending = callEnding(call);
  void (async () => {
    const namespace = namespaceOf(call);
    // destroyOnReturn: false — the client's half-close ends the request side only; the default
    // iterator destroys the whole call, losing the remaining output and the exit frame.
    const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterator<tasks.AttachTaskRequest>;
    const first = await requests.next();
    if (first.done) return ending.end();
    const frame = first.value.frame;
    if (frame?.$case !== 'target') throw invalidArgument('the first attach message must be the target');
    const opening = await engine.tasks.openAttach(namespace, frame.value);
    if (opening.kind === 'exited') return ending.end({ frame: { $case: 'exit', value: opening.exit } });
    const { stream } = opening;
    call.once('cancelled', () => stream.cancel());
    // Headers tell the client the stdio is connected: it starts the process only then, so no output is lost.
    await stream.connected;
    if (!ending.ended) call.sendMetadata(new grpc.Metadata());
    await relayStdio(call, stream, requests, (f) => {
      if (f.$case === 'target') throw invalidArgument('the attach target may only be sent once, first');
      return f;
    });
    ending.end();
  })().catch((err: unknown) => ending.fail(err));
}

async function* logs(
  engine: TasksEngine,
  req: tasks.ReadLogsRequest,
  call: grpc.ServerWritableStream<tasks.ReadLogsRequest, tasks.ReadLogsResponse>,
): AsyncIterable<tasks.ReadLogsResponse> {
  const rec = engine.containers.get(namespaceOf(call), req.containerId);
  if (req.tail !== undefined && req.tail < 0) throw invalidArgument(`tail: ${req.tail} is negative`);
  const streams = new Set<StreamName>();
  for (const s of req.streams) {
    const name = STREAM_NAMES[s];
    if (!name) throw invalidArgument(`streams: unknown stream ${s}`);
    streams.add(name);
  }
  if (streams.size === 0) (['stdout', 'stderr'] as const).forEach((s) => streams.add(s));
  const signal = cancelSignal(call);
  const store = engine.runtime.store;
  const batches = readLogs(rec.logPath, {
    tail: req.tail,
    sinceNs: req.since ? nanosFromTimestamp(req.since) : undefined,
    untilNs: req.until ? nanosFromTimestamp(req.until) : undefined,
    streams,
    follow: req.follow,
    isDone: () => {
      const now = store.get(rec.id);
      return !now || !['running', 'paused', 'restarting'].includes(now.phase);
    },
    signal,
  });
  for await (const batch of batches) {
    yield {
      entries: batch.map((l) => ({
        stream: l.stream === 'stdout' ? tasks.LogStream.STDOUT : tasks.LogStream.STDERR,
        time: timestampFromNanos(l.timeNs),
        data: l.data,
        partial: l.partial,
      })),
    };
  }
}

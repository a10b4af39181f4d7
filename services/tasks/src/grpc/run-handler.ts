// berth.tasks.v1.Tasks/RunContainer: `run` in one call. Create, attach, start,
// relay, remove: the steps a client would take in five calls, without the
// round trips between them.
import type * as grpc from '@grpc/grpc-js';
import { callEnding } from '@berth/service-kit';
import { tasks } from '@berth/api';
import type { TasksEngine } from '../engine.js';
import { invalidArgument, isNotFound } from '../errors.js';
import { containerMessage } from './convert.js';
import { namespaceOf } from './namespace.js';
import { relayStdio } from './stdio-relay.js';

type RunCall = grpc.ServerDuplexStream<tasks.RunContainerRequest, tasks.RunContainerResponse>;

/** The create request of a start frame; with remove, the spec asks for auto-remove (so a client that leaves changes nothing). */
export function createRequestOf(start: tasks.RunContainerStart): tasks.CreateContainerRequest {
  if (start.detach && start.stdin) throw invalidArgument('start: stdin cannot be attached to a detached run');
  const create = start.create ?? tasks.CreateContainerRequest.fromPartial({});
  if (!create.spec) throw invalidArgument('start.create.spec: missing: say at least which image to run');
  if (start.stdin && !create.spec.openStdin) throw invalidArgument('start: stdin needs a spec with open_stdin (-i)');
  return start.remove ? { ...create, spec: { ...create.spec, autoRemove: true } } : create;
}

/** Removes a container whose run ended; one that its auto-remove already took is not an error. */
async function removeRun(engine: TasksEngine, namespace: string, id: string): Promise<void> {
  try {
    await engine.containers.remove(namespace, id, { force: true, keepLogs: false });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function runContainer(engine: TasksEngine, call: RunCall): void {
  const ending = callEnding(call);
  const namespace = namespaceOf(call);
  // Set once created: a failure after that, or a client that left before the start, removes it (with remove).
  let created: { id: string; remove: boolean; started: boolean } | undefined;
  void (async () => {
    // destroyOnReturn: false, as for AttachTask: the client's half-close must not end the output.
    const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterator<tasks.RunContainerRequest>;
    const first = await requests.next();
    if (first.done) return ending.end();
    const frame = first.value.frame;
    if (frame?.$case !== 'start') throw invalidArgument('the first RunContainer message must be the start frame');
    const start = frame.value;
    const rec = await engine.containers.create(namespace, createRequestOf(start));
    created = { id: rec.id, remove: start.remove, started: false };
    call.write({ frame: { $case: 'created', value: containerMessage(rec, engine.containers.stateOf(rec)) } });
    if (call.cancelled) throw new Error('the client left before the start');

    if (start.detach) {
      const pid = await engine.tasks.startTask(namespace, rec.id, '');
      created.started = true;
      return ending.end({ frame: { $case: 'startedPid', value: pid } });
    }

    // Attached while the task is created: the agent connects the stream the moment its create is done.
    const stream = engine.tasks.attachWhileCreating(rec, { stdin: start.stdin, stdout: true, stderr: !rec.spec.tty });
    call.once('cancelled', () => stream.cancel());
    try {
      await engine.tasks.createTask(namespace, rec.id);
    } catch (err) {
      stream.cancel();
      throw err;
    }
    if (start.ttySize) stream.send({ frame: { $case: 'resize', value: start.ttySize } });
    // Started only once its stdio is connected, so that no output is lost.
    await stream.connected;
    if (call.cancelled) {
      stream.cancel();
      throw new Error('the client left before the start');
    }
    let pid: number;
    try {
      pid = await engine.tasks.startTask(namespace, rec.id, '');
    } catch (err) {
      stream.cancel();
      throw err;
    }
    created.started = true;
    call.write({ frame: { $case: 'startedPid', value: pid } });
    const exit = await relayStdio(call, stream, requests, (f) => {
      if (f.$case === 'start') throw invalidArgument('the start frame may only be sent once, first');
      return f;
    });
    // The client has the exit; with remove it learns of the removal by the end of the call.
    if (exit && start.remove) await removeRun(engine, namespace, rec.id);
    ending.end();
  })().catch(async (err: unknown) => {
    // A run that never started goes with remove (a started one goes by its auto-remove at exit).
    if (created?.remove && !created.started) await removeRun(engine, namespace, created.id).catch(() => undefined);
    ending.fail(err);
  });
}

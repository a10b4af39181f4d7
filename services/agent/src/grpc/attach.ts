// Runtime.AttachTask: a bidirectional stream bridged to a process's stdio
// through its conmon. The first client message names the process; then stdin
// bytes, resizes and stdin close flow in, stdout and stderr bytes flow out,
// and the exit status is the last message. A client that half-closes has no
// more stdin (the process gets EOF) but keeps receiving output; one that
// cancels detaches and leaves the process running.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import * as grpc from '@grpc/grpc-js';
import { agent, types } from '@berth/api';
import { callEnding, type CallEnding } from '@berth/service-kit';
import { ContainerError, isContainerError } from '../errors.js';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import type { AttachSession } from '../runtime/attach.js';
import type { ExitStatus } from '../runtime/exit-status.js';
import { exitStatusMessage, terminalSize } from './convert.js';
import { cancelSignal, grpcError } from './errors.js';
import type { ExecAttachWaiters } from './exec-attach-waiters.js';

type AttachCall = grpc.ServerDuplexStream<agent.AttachTaskRequest, agent.AttachTaskResponse>;

export interface AttachDeps {
  runtime: ContainerRuntime;
  waiters: ExecAttachWaiters;
}

/** How long an attach with await_create waits for the container's create to begin (the caller sets up its network first). */
const AWAIT_CREATE_MS = 60_000;

type Opening = { kind: 'session'; session: AttachSession } | { kind: 'exited'; exit: ExitStatus };

/**
 * Connects to the target process, or reports the exit of one that already
 * ended. `connected` is called once starting the process can lose no output:
 * when the stdio is connected, or, for an exec not started yet, when the
 * client is registered to be handed the session its start makes.
 */
async function open(deps: AttachDeps, target: agent.AttachTarget, signal: AbortSignal, connected: () => void): Promise<Opening> {
  const { runtime } = deps;
  const id = target.containerId;
  if (target.execId === '') {
    // A run's attach: its bridge is started now, while the create is on its way.
    const reserved = target.awaitCreate ? runtime.reserveAttach() : undefined;
    try {
      if (target.awaitCreate) {
        // Connected during the create if it can be; else once it is done.
        const early = await runtime.attachWhileCreating(id, { stdin: target.stdin, ...(reserved ? { reserved } : {}), timeoutMs: AWAIT_CREATE_MS, signal });
        if (early) {
          connected();
          return { kind: 'session', session: early };
        }
        await runtime.createSettled(id, { timeoutMs: AWAIT_CREATE_MS, signal });
      }
      const state = await runtime.state(id);
      if (state.status === 'stopped') {
        if (state.exit) return { kind: 'exited', exit: state.exit };
        throw new ContainerError('NOT_RUNNING', `container ${id} has stopped and its exit code is unknown: ${state.error ?? ''}`, { containerId: id });
      }
      const session = await runtime.attach(id, { stdin: target.stdin, ...(reserved ? { reserved } : {}) });
      connected();
      return { kind: 'session', session };
    } finally {
      reserved?.release();
    }
  }
  const exec = await runtime.execState(id, target.execId);
  if (exec.status === 'created') {
    const waiting = deps.waiters.wait(id, target.execId, { stdin: target.stdin, signal });
    connected();
    return { kind: 'session', session: await waiting };
  }
  if (exec.status === 'stopped') {
    if (exec.exit) return { kind: 'exited', exit: exec.exit };
    throw new ContainerError('NOT_RUNNING', `exec ${target.execId} in ${id} has stopped and its exit code is unknown`, { containerId: id });
  }
  try {
    const session = await runtime.attachExec(id, target.execId, { stdin: target.stdin });
    connected();
    return { kind: 'session', session };
  } catch (err) {
    // It ended between the state check and the connect.
    if (isContainerError(err, 'NOT_RUNNING')) {
      const again = await runtime.execState(id, target.execId);
      if (again.exit) return { kind: 'exited', exit: again.exit };
    }
    throw err;
  }
}

export function attachTask(deps: AttachDeps): grpc.handleBidiStreamingCall<agent.AttachTaskRequest, agent.AttachTaskResponse> {
  return (call: AttachCall) => {
    // Ends once: with the exit frame, or with an error.
    const out = callEnding(call, grpcError);
    bridge(deps, call, out).catch((err: unknown) => out.fail(err));
  };
}

async function bridge(deps: AttachDeps, call: AttachCall, out: CallEnding<agent.AttachTaskResponse>): Promise<void> {
  // Not call[Symbol.asyncIterator](): once the client half-closes, that
  // iterator destroys the whole call, output and exit frame included.
  const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterator<agent.AttachTaskRequest>;
  const first = await requests.next();
  if (first.done) return out.end();
  const frame = first.value.frame;
  if (frame?.$case !== 'target') throw new ContainerError('INVALID_ARGUMENT', 'the first attach message must be the target');
  const target = frame.value;
  if (target.containerId === '') throw new ContainerError('INVALID_ARGUMENT', 'target.container_id is required');
  if (target.awaitCreate && target.execId !== '') throw new ContainerError('INVALID_ARGUMENT', 'target.await_create is for the init process only (exec_id must be empty)');
  const cancelled = cancelSignal(call);

  // Response headers tell the caller it may start the process now without losing its first output.
  const opening = await open(deps, target, cancelled, () => call.sendMetadata(new grpc.Metadata()));
  if (opening.kind === 'exited') return out.end(exitFrame(opening.exit));
  const { session } = opening;
  cancelled.addEventListener('abort', () => session.detach(), { once: true });
  // The exit status, taken when the process ends: a client still reading
  // its output then may find the task already deleted (the tasks service
  // tears a task down as soon as it has the exit), and still gets the exit.
  const exited = target.execId === ''
    ? deps.runtime.wait(target.containerId, { signal: cancelled })
    : deps.runtime.waitExec(target.containerId, target.execId, cancelled);
  exited.catch(() => undefined);

  // Process to client, with backpressure: a slow client pauses the output.
  const forward = (stream: NodeJS.ReadableStream, wanted: boolean, make: (b: Buffer) => agent.AttachTaskResponse): void => {
    stream.on('data', (chunk: Buffer) => {
      if (!wanted || out.ended) return;
      if (!call.write(make(chunk))) {
        stream.pause();
        void once(call, 'drain').then(() => stream.resume());
      }
    });
  };
  forward(session.stdout, target.stdout, (b) => ({ frame: { $case: 'stdout', value: b } }));
  forward(session.stderr, target.stderr, (b) => ({ frame: { $case: 'stderr', value: b } }));

  // Client to process.
  void (async () => {
    for (;;) {
      const next = await requests.next();
      if (next.done) break;
      const f = next.value.frame;
      if (!f) continue;
      switch (f.$case) {
        case 'target':
          throw new ContainerError('INVALID_ARGUMENT', 'the attach target may only be sent once, first');
        case 'stdin':
          if (!target.stdin || !session.stdin) throw new ContainerError('INVALID_ARGUMENT', 'stdin sent on an attach without stdin (set target.stdin)');
          if (!session.stdin.write(f.value)) await once(session.stdin, 'drain');
          break;
        case 'closeStdin':
          if (f.value) session.stdin?.end();
          break;
        case 'resize':
          await resize(deps.runtime, target, f.value);
          break;
      }
    }
    // Half-close: no more stdin.
    session.stdin?.end();
  })().catch((err: unknown) => {
    out.fail(err);
    session.detach();
  });

  await Promise.all([finished(session.stdout).catch(() => undefined), finished(session.stderr).catch(() => undefined), session.closed]);
  if (cancelled.aborted || out.ended) return;
  out.end(exitFrame(await exited));
}

async function resize(runtime: ContainerRuntime, target: agent.AttachTarget, size: types.TtySize): Promise<void> {
  try {
    if (target.execId === '') await runtime.resize(target.containerId, terminalSize(size));
    else await runtime.resizeExec(target.containerId, target.execId, terminalSize(size));
  } catch (err) {
    // The process ended while the resize travelled: the exit frame follows.
    if (!isContainerError(err, 'NOT_RUNNING')) throw err;
  }
}

function exitFrame(exit: ExitStatus): agent.AttachTaskResponse {
  return { frame: { $case: 'exit', value: exitStatusMessage(exit) } };
}

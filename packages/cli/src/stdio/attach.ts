// A foreground process's stdio over Tasks.AttachTask: output to our stdout
// and stderr, our stdin up (raw when -t on a terminal), terminal resizes,
// and our signals forwarded to the process as Docker's --sig-proxy does.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import * as tasks from '@berth/api/tasks';
import type * as types from '@berth/api/types';
import { Code, hasCode } from '../client/errors.js';
import type { Session } from '../client/session.js';
import { BerthError } from '../output.js';
import { written, type CliIo } from './io.js';

export interface AttachOptions {
  containerId: string;
  /** Exec process; empty for the init process. */
  execId?: string;
  /** Forward our stdin (the process was created with open stdin). */
  stdin: boolean;
  /** The process has a terminal: one output stream, raw stdin, resizes. */
  tty: boolean;
  /** Forward SIGINT, SIGTERM, ... to the process. */
  sigProxy: boolean;
  /** False while a RunContainer call has not started the process: signals are held until it has. */
  started?: boolean;
}

/** Signals the CLI passes on to the process (as docker's --sig-proxy). */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * How long to wait for the attach stream's headers (the service's word that
 * the process's stdio is connected) before falling back, see attachThenStart.
 */
const ATTACH_READY_MS = 300;
const ATTACH_READY_STDIN_MS = 2000;

type AttachCall = ClientDuplexStream<tasks.AttachTaskRequest, tasks.AttachTaskResponse>;
/** RunContainer relays stdio with the same frames (and a few of its own before them). */
export type RunCall = ClientDuplexStream<tasks.RunContainerRequest, tasks.RunContainerResponse>;
type UpFrame = Exclude<NonNullable<tasks.AttachTaskRequest['frame']>, { $case: 'target' }>;
/** What relay needs of an attach or run call. */
interface StdioCall {
  write(msg: { frame: UpFrame }): boolean;
  end(): void;
  on(event: 'data', listener: (msg: tasks.AttachTaskResponse | tasks.RunContainerResponse) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

const frame = (f: tasks.AttachTaskRequest['frame']): tasks.AttachTaskRequest => ({ frame: f });
const up = (f: UpFrame) => ({ frame: f });

export function terminalSize(io: CliIo): types.TtySize | undefined {
  const out = io.stdout;
  return out.isTTY && out.columns && out.rows ? { width: out.columns, height: out.rows } : undefined;
}

/**
 * True once the tasks service has attached (it sends the response headers
 * when the process's stdio is connected), false if it has not said so within
 * ms; rejects when the call fails.
 */
function attached(call: AttachCall, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(() => resolve(false)), ms);
    const onMetadata = () => settle(() => resolve(true));
    const onError = (err: Error) => settle(() => reject(err));
    function settle(fn: () => void) {
      clearTimeout(timer);
      call.off('metadata', onMetadata);
      call.off('error', onError);
      fn();
    }
    call.once('metadata', onMetadata);
    call.once('error', onError);
  });
}

/**
 * Attaches to a created (not yet started) process, starts it with `start`,
 * relays stdio until it exits and returns its exit status.
 *
 * Output the process writes before the attachment is connected would be
 * lost, so the process is started only once the service confirms the attach.
 * Without that confirmation (a service that sends no headers until the first
 * output), the init process's output is read from its logs instead, which
 * hold everything; stdin (-i) and exec processes have no such record and
 * start after a grace period.
 */
export async function attachThenStart(s: Session, o: AttachOptions, start: () => Promise<void>): Promise<types.ExitStatus> {
  const tasksApi = s.api(tasks.TasksClient);
  const call: AttachCall = tasksApi.attachTask(s.metadata());
  const target = { containerId: o.containerId, execId: o.execId ?? '', stdin: o.stdin, stdout: true, stderr: !o.tty };
  call.write(frame({ $case: 'target', value: target }));
  const size = o.tty ? terminalSize(s.io) : undefined;
  if (size) call.write(frame({ $case: 'resize', value: size }));

  const logsWillDo = !o.stdin && !o.execId;
  let ready: boolean;
  try {
    ready = await attached(call, logsWillDo ? ATTACH_READY_MS : ATTACH_READY_STDIN_MS);
  } catch (err) {
    call.cancel();
    throw s.translate(tasksApi, 'AttachTask', err);
  }
  if (!ready && logsWillDo) {
    call.cancel();
    call.on('error', () => undefined); // the cancellation itself
    await start();
    return followLogs(s, o);
  }
  const outcome = relay(s, call, o);
  outcome.catch(() => undefined); // observed below
  try {
    await start();
  } catch (err) {
    call.cancel();
    await outcome.catch(() => undefined);
    throw err instanceof BerthError ? err : s.translate(tasksApi, 'AttachTask', err);
  }
  return outcome;
}

/** The init process's output from its logs, followed until it exits; then its exit status. */
async function followLogs(s: Session, o: AttachOptions): Promise<types.ExitStatus> {
  const tasksApi = s.api(tasks.TasksClient);
  const stopForwarding = o.sigProxy ? forwardSignals(s, o).stop : () => undefined;
  try {
    const call = tasksApi.readLogs(tasks.ReadLogsRequest.fromPartial({ containerId: o.containerId, follow: true }), s.metadata());
    for await (const batch of s.messages<tasks.ReadLogsResponse>(tasksApi, 'ReadLogs', call)) {
      for (const e of batch.entries) await written(e.stream === tasks.LogStream.STDERR ? s.io.stderr : s.io.stdout, e.data);
    }
    const r = await s.unary(tasksApi, 'waitTask', { containerId: o.containerId, execId: '' });
    if (!r.exitStatus) throw new BerthError(`the tasks service reported no exit status for ${o.containerId}`);
    return r.exitStatus;
  } finally {
    stopForwarding();
  }
}

/**
 * Relays stdio on an attach (or run) stream until the exit frame; cleans up
 * our terminal and handlers either way. With failAfterExit, a call that fails
 * after the exit frame (RunContainer's removal) rejects.
 */
export function relay(s: Session, call: StdioCall, o: AttachOptions, failAfterExit = false): Promise<types.ExitStatus> {
  const tasksApi = s.api(tasks.TasksClient);
  const io = s.io;
  const stdin = io.stdin;
  const raw = o.tty && o.stdin && stdin.isTTY === true && stdin.setRawMode !== undefined;
  const cleanups: (() => void)[] = [];
  let exit: types.ExitStatus | undefined;

  if (raw) {
    stdin.setRawMode!(true);
    cleanups.push(() => stdin.setRawMode!(false));
  }
  const forwardStdin = () => {
    const onData = (chunk: Buffer) => call.write(up({ $case: 'stdin', value: chunk }));
    const onEnd = () => call.write(up({ $case: 'closeStdin', value: true }));
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
    cleanups.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      // the process has exited: an open stdin (a terminal, a pipe) must not keep berth waiting
      stdin.unref?.();
    });
  };
  // A RunContainer call takes our stdin only once its container exists: one
  // that fails before (an image to pull first) must leave it to the next call.
  let stdinOnCreated: (() => void) | undefined;
  if (o.stdin && o.started === false) stdinOnCreated = forwardStdin;
  else if (o.stdin) forwardStdin();
  if (o.tty && io.stdout.isTTY) {
    const onResize = () => {
      const size = terminalSize(io);
      if (size) call.write(up({ $case: 'resize', value: size }));
    };
    io.stdout.on('resize', onResize);
    cleanups.push(() => io.stdout.off('resize', onResize));
  }
  const forwarding = o.sigProxy ? forwardSignals(s, o) : undefined;
  if (forwarding) cleanups.push(forwarding.stop);

  return new Promise<types.ExitStatus>((resolve, reject) => {
    let finished = false;
    // once: a failed call ends its readable side too ('end' after 'error')
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      for (const c of cleanups.splice(0)) c();
      if (err) return reject(err);
      if (exit) return resolve(exit);
      // The stream ended without an exit frame: ask for the exit status instead.
      s.unary(tasksApi, 'waitTask', { containerId: o.containerId, execId: o.execId ?? '' }).then(
        (r) => (r.exitStatus ? resolve(r.exitStatus) : reject(new BerthError(`no exit status for ${o.containerId}`))),
        reject,
      );
    };
    call.on('data', (msg: tasks.AttachTaskResponse | tasks.RunContainerResponse) => {
      const f = msg.frame;
      if (!f) return;
      // an output that holds back (a client of the host that reads slowly) holds the stream back too
      if (f.$case === 'stdout' || f.$case === 'stderr') {
        const held = written(f.$case === 'stdout' ? io.stdout : io.stderr, f.value);
        if (held) {
          call.pause();
          void held.then(() => call.resume());
        }
      }
      else if (f.$case === 'startedPid') {
        o.started = true;
        forwarding?.release();
      }
      else if (f.$case === 'created' && stdinOnCreated && !finished) {
        stdinOnCreated();
        stdinOnCreated = undefined;
      }
      else if (f.$case === 'exit') {
        exit = f.value;
        call.end();
      }
    });
    const method = failAfterExit ? 'RunContainer' : 'AttachTask';
    call.on('error', (err: Error) => {
      const failure = s.translate(tasksApi, method, err);
      if ((exit && !failAfterExit) || hasCode(failure, Code.CANCELLED)) finish();
      else finish(failure);
    });
    call.on('end', () => finish());
  });
}

/**
 * Forwards our signals to the process. Three Ctrl-C in a row send SIGKILL,
 * for a process that ignores SIGINT (a shell as PID 1 does). With
 * o.started false (a RunContainer call whose process has not started yet),
 * signals wait until release(), and a third Ctrl-C exits (130).
 */
function forwardSignals(s: Session, o: AttachOptions): { stop: () => void; release: () => void } {
  const tasksApi = s.api(tasks.TasksClient);
  let interrupts = 0;
  const waiting: string[] = [];
  const send = (sent: string) =>
    s.unary(tasksApi, 'killTask', { containerId: o.containerId, execId: o.execId ?? '', signal: sent, all: false }).catch(
      (err: unknown) => s.io.stderr.write(`berth: cannot forward ${sent}: ${(err as Error).message}\n`),
    );
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      const third = signal === 'SIGINT' && ++interrupts >= 3;
      if (third && o.started === false) {
        // nothing runs yet to kill (a create that hangs): give up on the run, as Docker's CLI would die
        s.io.stderr.write('\nberth: third interrupt before the container started, giving up\n');
        return s.io.exit(130);
      }
      if (third) s.io.stderr.write('\nberth: third interrupt, killing the container\n');
      const sent = third ? 'SIGKILL' : signal;
      if (o.started === false) waiting.push(sent);
      else void send(sent);
    };
    return s.io.onSignal(signal, handler);
  });
  return {
    stop: () => handlers.forEach((off) => off()),
    release: () => {
      for (const sent of waiting.splice(0)) void send(sent);
    },
  };
}

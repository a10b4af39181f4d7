// Launching conmon, the per-container monitor. conmon double-forks and calls
// setsid itself (without --sync), so the monitor and the container are not
// children of the agent and outlive it; it runs `runc create` (or `runc exec
// -d`), relays stdio to a k8s-file log and an attach socket, and writes the
// exit code to --exit-dir and --persist-dir when the process ends.
//
// The agent learns the outcome over pipes passed by fd number in env vars
// (conmon's protocol, as podman uses it):
//   _OCI_SYNCPIPE   conmon writes {"data": <pid>} once runc succeeded, or
//                   {"data": -1, "message": "<runc stderr>"}; for an exec it
//                   later writes {"data": <exit code>}.
//   _OCI_STARTPIPE  conmon blocks on a read before forking; with
//   _OCI_ATTACHPIPE --exec-attach it also blocks before running runc, after
//                   announcing {"data": 0} on the attach pipe, so a client can
//                   attach to an exec session before the process produces output.
//
// conmon 2.1.6 (Debian 12) quirks this module and its callers work around:
//   - --persist-dir must exist: conmon writes <persist>/exit first and, if
//     that fails, exits before writing --exit-dir/<cid> (the code is lost).
//   - --log-size-max truncates the log instead of rotating (see logs/rotate.ts);
//     it is not passed.
//   - k8s-file timestamps use the local zone: TZ=UTC is set for conmon.
//   - its OOM marker "oom" is also created in its working directory: cwd is
//     the container's state dir.
//   - the attach symlink <socket-dir>/<cuuid> is left behind after exit: delete
//     removes it; the exec exit file is named after --cid, so each exec session
//     gets its own --exit-dir.
//   - in an unprivileged container it cannot lower its OOM score and says so on
//     stderr (filtered from error messages).
//   - no --sync (it would keep conmon a child of the agent) and no --syslog
//     (failures reach the agent over the sync pipe instead).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface ConmonLaunch {
  conmonPath: string;
  runtimePath: string;
  runtimeRoot: string;
  containerId: string;
  /** Unique per conmon instance; names its attach symlink. */
  cuuid: string;
  bundle: string;
  containerPidFile: string;
  conmonPidFile: string;
  exitDir: string;
  persistDir?: string;
  socketDir: string;
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  leaveStdinOpen: boolean;
  exec?: { processSpec: string; attach: boolean };
  /** conmon's working directory (it drops an "oom" marker there). */
  cwd: string;
}

/** The conmon command line for a launch (pure). */
export function conmonArgs(l: ConmonLaunch): string[] {
  const args = [
    '--api-version', '1',
    '-c', l.containerId,
    '-u', l.cuuid,
    '-n', l.containerId,
    '-r', l.runtimePath,
    '-b', l.bundle,
    '-p', l.containerPidFile,
    '-P', l.conmonPidFile,
    '-l', `k8s-file:${l.logPath}`,
    '--exit-dir', l.exitDir,
    '--socket-dir-path', l.socketDir,
    '--runtime-arg', `--root=${l.runtimeRoot}`,
    '--log-level', 'error',
    // Otherwise conmon fsyncs the log at exit before it writes the exit file,
    // delaying every exit report by a disk flush (Docker and containerd do not
    // fsync container logs either).
    '--no-sync-log',
  ];
  if (l.persistDir !== undefined) args.push('--persist-dir', l.persistDir);
  if (l.terminal) args.push('-t');
  if (l.stdin) args.push('-i');
  if (l.stdin && l.leaveStdinOpen) args.push('--leave-stdin-open');
  if (l.exec) {
    args.push('-e', '--exec-process-spec', l.exec.processSpec);
    if (l.exec.attach) args.push('--exec-attach');
  }
  return args;
}

export interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads conmon's newline-delimited JSON messages from one of its pipes. */
export class MessageReader {
  private buffer = '';
  private readonly queue: SyncMessage[] = [];
  private waiters: Array<(m: SyncMessage | undefined) => void> = [];
  private ended = false;
  private failure: Error | undefined;

  constructor(stream: Readable, private readonly what: string) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.push(chunk));
    stream.on('end', () => this.end());
    stream.on('close', () => this.end());
    stream.on('error', () => this.end());
  }

  private push(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: SyncMessage;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        const data = parsed.data ?? parsed.pid ?? parsed.exit_code;
        if (typeof data !== 'number') throw new Error('no numeric data field');
        msg = { data, ...(typeof parsed.message === 'string' ? { message: parsed.message } : {}) };
      } catch (err) {
        this.failure = new Error(`conmon sent an unreadable message on its ${this.what} pipe: ${line}`, { cause: err });
        this.end();
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter(msg);
      else this.queue.push(msg);
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** The next message, or undefined once the pipe closed without one. */
  next(): Promise<SyncMessage | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface ConmonProcess {
  sync: MessageReader;
  /** Present for an attached exec. */
  attachPipe: MessageReader | undefined;
  /** Present for an attached exec: one write releases the fork, the next one the exec. */
  startPipe: Writable | undefined;
  /** What conmon's first process printed on stderr (it has nothing after daemonizing). */
  stderr(): string;
  /** Closes the agent's ends of the pipes so nothing holds the agent's event loop. */
  release(): void;
}

export function spawnConmon(launch: ConmonLaunch): ConmonProcess {
  const attached = launch.exec?.attach === true;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    // Log timestamps in UTC, whatever the agent's zone.
    TZ: 'UTC',
    _OCI_SYNCPIPE: '3',
  };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  if (attached) {
    env._OCI_ATTACHPIPE = '4';
    env._OCI_STARTPIPE = '5';
  }
  const child: ChildProcess = spawn(launch.conmonPath, conmonArgs(launch), {
    cwd: launch.cwd,
    env,
    detached: true,
    stdio: attached
      ? ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe']
      : ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (stderr.length < 64 * 1024) stderr += s;
  });
  // A spawn failure (ENOENT) closes the pipes, so readers see the end.
  child.on('error', (err) => {
    stderr += `cannot run ${launch.conmonPath}: ${err.message}`;
  });
  const stdio = child.stdio as unknown as Array<Readable & Writable>;
  const sync = new MessageReader(stdio[3] as Readable, 'sync');
  const attachPipe = attached ? new MessageReader(stdio[4] as Readable, 'attach') : undefined;
  const startPipe: Writable | undefined = attached ? stdio[5] : undefined;
  startPipe?.on('error', () => undefined);
  child.unref();
  return {
    sync,
    attachPipe,
    startPipe,
    stderr: () => stderr.trim(),
    release: () => {
      for (const s of child.stdio) s?.destroy();
    },
  };
}

/** Drops conmon's harmless noise (it cannot lower its OOM score in an unprivileged container). */
export function meaningfulStderr(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim() && !/oom_score_adj/.test(l))
    .join('\n');
}

/**
 * Waits for conmon's first sync message: the process' pid, or runc's error
 * (data <= 0, with runc's stderr as message). Releases the pipes either way.
 */
export async function awaitConmonStart(conmon: ConmonProcess, what: string, timeoutMs: number): Promise<SyncMessage> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    const msg = await Promise.race([conmon.sync.next(), timeout]);
    if (msg === undefined) {
      // Give conmon's first process a moment to flush its stderr.
      await new Promise((r) => setTimeout(r, 50));
      throw new Error(`conmon exited without reporting: ${meaningfulStderr(conmon.stderr()) || 'no output'}`);
    }
    return msg;
  } finally {
    if (timer) clearTimeout(timer);
    conmon.release();
  }
}

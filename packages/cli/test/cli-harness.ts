// Drives the built berth binary (built-bin.ts) as a user would: a fresh
// process per command with the suite's environment (state root, runtime dir,
// NATS port, service settings), stdout and stderr kept apart, exit code as
// reported.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN } from './built-bin.js';

export const HEX64 = /^[0-9a-f]{64}$/;

export interface Result {
  code: number | null;
  /** The signal that ended berth, when one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CallOptions {
  /** Written to berth's stdin, which is then closed (closed at once without it). */
  input?: string;
  /** Kill berth after this long (default 120 s); the result then shows SIGKILL. */
  timeoutMs?: number;
}

export interface Cli {
  /** Runs `berth ARGS...` to completion. */
  (args: string[], o?: CallOptions): Promise<Result>;
  /** Starts `berth ARGS...` and leaves it running (stdin open); `done` settles when it exits. */
  start(args: string[], o?: { timeoutMs?: number }): { child: ChildProcessWithoutNullStreams; done: Promise<Result> };
}

/** A berth runner with this environment on top of the test process's. */
export function cli(env: () => NodeJS.ProcessEnv): Cli {
  const start = (args: string[], o: { timeoutMs?: number } = {}) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env() }, stdio: ['pipe', 'pipe', 'pipe'] });
    // berth may be gone before its stdin is written (the CLI host ran the command, which reads none)
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
    const done = new Promise<Result>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
    return { child, done };
  };
  const run = (args: string[], o: CallOptions = {}) => {
    const { child, done } = start(args, o);
    child.stdin.end(o.input ?? '');
    return done;
  };
  return Object.assign(run, { start });
}

/** What a failed command said, for assertion messages. */
export const said = (r: Result): string => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** stdout as JSON; throws with what berth said when it is not. */
export function json<T>(r: Result): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON: ${said(r)}`);
  }
}

/** Polls until check returns a value other than undefined; throws with the last value's description after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}


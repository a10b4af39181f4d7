import { spawn } from 'node:child_process';

export interface ProcessOutput {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the process ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the process was killed because it outlived its timeout. */
  timedOut: boolean;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a program to completion, capturing its output; rejects only when it cannot be started. */
export function runProcess(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ProcessOutput> {
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout kills the program and anything it
    // started (a grandchild holding our pipes open would otherwise keep us waiting).
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, opts.timeoutMs)
        : undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        signal,
        timedOut,
      });
    });
    // A plugin that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a host tool (ip, iptables) and throws a clear error naming the command when it fails. */
export async function runTool(file: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  let res: ProcessOutput;
  try {
    res = await runProcess(file, args, { timeoutMs });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file} is not installed (needed for: ${file} ${args.join(' ')})`);
    throw new Error(`could not run ${file} ${args.join(' ')}: ${(e as Error).message}`);
  }
  if (res.timedOut) throw new Error(`${file} ${args.join(' ')} timed out after ${timeoutMs} ms`);
  if (res.code !== 0) {
    const why = res.stderr.trim() || res.stdout.trim() || `exit ${res.code ?? res.signal}`;
    throw new Error(`${file} ${args.join(' ')} failed: ${why}`);
  }
  return res.stdout;
}

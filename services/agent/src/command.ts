// Runs a short-lived helper command (runc, mount, umount) and captures its
// output. Never throws for a non-zero exit: callers map the result to errors
// that name what they were doing.
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code, or null when the command died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Kill the command (SIGKILL) after this long; the result then has signal SIGKILL. */
  timeoutMs?: number;
}

export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    }
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** One line describing how a command ended, for error messages. */
export function describeResult(result: CommandResult): string {
  const how = result.code !== null ? `exit code ${result.code}` : `signal ${result.signal ?? 'unknown'}`;
  const detail = result.stderr.trim() || result.stdout.trim();
  return detail ? `${how}: ${detail}` : how;
}

// Runs a short-lived helper command (runc, mount, umount) and captures its
// output. Never throws for a non-zero exit: callers map the result to errors
// that name what they were doing. Run from @berth/process's worker thread,
// so a fork never blocks the agent's event loop.
import { runProcess } from '@berth/process';

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

export async function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  try {
    const r = await runProcess(file, args, opts);
    return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    throw new Error(`cannot run ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** One line describing how a command ended, for error messages. */
export function describeResult(result: CommandResult): string {
  const how = result.code !== null ? `exit code ${result.code}` : `signal ${result.signal ?? 'unknown'}`;
  const detail = result.stderr.trim() || result.stdout.trim();
  return detail ? `${how}: ${detail}` : how;
}

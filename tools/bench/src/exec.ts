// Running contestants' commands with a wall-clock measurement around them.
// Every contestant's command goes through the same spawn and pipes, so the
// harness's own overhead is the same for all of them. Commands in flight are
// tracked, so that an interrupted run can end them at once (blockCommands)
// instead of waiting for a 50-container round to finish.
import { spawn, type ChildProcess } from 'node:child_process';
import { formatCommand } from './format-command.js';

export interface Command {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface CommandResult {
  stdout: Buffer;
  stderr: string;
}

/** No command of a benchmark may take longer than this (50 concurrent starts on a busy machine included). */
export const COMMAND_TIMEOUT_MS = 180_000;
/** A command about one container (run --rm, version, ps) that takes this long has hung. */
export const SHORT_TIMEOUT_MS = 60_000;

const inFlight = new Set<ChildProcess>();
let blocked: string | undefined;

/** Kills every command in flight and refuses new ones (with `reason`) until unblockCommands. */
export function blockCommands(reason: string): void {
  blocked = reason;
  for (const child of inFlight) child.kill('SIGKILL');
}

export function unblockCommands(): void {
  blocked = undefined;
}

/** Runs a command to completion; rejects naming it, with its exit status and stderr, if it fails, times out or is interrupted. */
export function runCommand(cmd: Command, timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  if (blocked !== undefined) return Promise.reject(new Error(`${formatCommand(cmd.file, cmd.args)} not run: ${blocked}`));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, { env: cmd.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    inFlight.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      inFlight.delete(child);
      reject(new Error(`could not run ${formatCommand(cmd.file, cmd.args)}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      inFlight.delete(child);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout: Buffer.concat(out), stderr });
      const how = timedOut
        ? `timed out after ${timeoutMs} ms`
        : blocked !== undefined
          ? `was stopped: ${blocked}`
          : signal
            ? `was killed by ${signal}`
            : `exited with status ${code}`;
      const detail = stderr.trim() || Buffer.concat(out).toString('utf8').trim();
      reject(new Error(`${formatCommand(cmd.file, cmd.args)} ${how}${detail ? `:\n${detail.slice(-4000)}` : ''}`));
    });
  });
}

export interface TimedResult extends CommandResult {
  ms: number;
}

/** runCommand, with the wall time from spawn to exit. */
export async function runTimed(cmd: Command, timeoutMs = COMMAND_TIMEOUT_MS): Promise<TimedResult> {
  const t0 = process.hrtime.bigint();
  const result = await runCommand(cmd, timeoutMs);
  return { ...result, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Runs the command and returns its stdout as text. */
export async function output(cmd: Command, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return (await runCommand(cmd, timeoutMs)).stdout.toString('utf8');
}

/** Throws unless stdout is exactly `expected` plus a newline: a contestant that did not do the work is not timed. */
export function expectOutput(what: string, stdout: Buffer | string, expected: string): void {
  const text = stdout.toString();
  if (text.trimEnd() !== expected) {
    throw new Error(`${what} printed ${JSON.stringify(text.slice(0, 200))}, expected ${JSON.stringify(expected)}`);
  }
}

/** Runs every command at once; resolves with the wall time until the last one finished. Rejects with the count and first failure. */
export async function runAllAtOnce(cmds: readonly Command[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<{ ms: number; stdouts: string[] }> {
  const t0 = process.hrtime.bigint();
  const settled = await Promise.allSettled(cmds.map((c) => runCommand(c, timeoutMs)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${cmds.length} commands failed; first: ${failures[0]}`);
  }
  return { ms, stdouts: settled.map((s) => (s as PromiseFulfilledResult<CommandResult>).value.stdout.toString('utf8')) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

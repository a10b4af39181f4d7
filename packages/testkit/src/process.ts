// Running host binaries: one place for "is it installed", clear failures that
// keep the command line and its stderr, and daemons that die with the test
// process (setpriv --pdeathsig) so a crashed suite leaves nothing running.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of `name` on PATH (or `name` itself when already a path); throws naming the binary when absent. */
export function requireBinary(name: string, hint?: string): string {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .concat(['/usr/sbin', '/sbin'])
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(
    `required binary "${name}" was not found${name.includes('/') ? '' : ' on PATH'}` +
      (hint ? ` (${hint})` : ''),
  );
}

export interface RunOptions {
  input?: Buffer | string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command after this many ms (default: none). */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to completion; rejects with the command line, exit status and stderr on failure. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`could not run ${formatCommand(file, args)}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve({ stdout: Buffer.concat(out), stderr });
        return;
      }
      const how = timedOut
        ? `timed out after ${opts.timeoutMs} ms`
        : signal
          ? `was killed by ${signal}`
          : `exited with status ${code}`;
      reject(new Error(`${formatCommand(file, args)} ${how}${stderr.trim() ? `:\n${tail(stderr, 4000)}` : ''}`));
    });
    child.stdin.on('error', () => {
      // the command may exit without reading its input; its exit status tells what happened
    });
    child.stdin.end(opts.input);
  });
}

export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function tail(text: string, max: number): string {
  const t = text.trim();
  return t.length <= max ? t : `…${t.slice(t.length - max)}`;
}

export interface Daemon {
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit description once the process has exited. */
  exited: Promise<string>;
  /** The last part of the daemon's log, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a long-running process with stdout+stderr appended to logFile. It
 * gets SIGKILL if the test process dies (setpriv --pdeathsig), so a crashed
 * suite cannot leak a registry.
 */
export function startDaemon(file: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): Daemon {
  const setpriv = requireBinary('setpriv', 'util-linux');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(setpriv, ['--pdeathsig', 'KILL', '--', file, ...args], {
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<string>((resolve) => {
    child.on('error', (e) => resolve(`could not start: ${e.message}`));
    child.on('close', (code, signal) => {
      log.end();
      resolve(signal ? `killed by ${signal}` : `exited with status ${code}`);
    });
  });
  const logTail = (): string => {
    try {
      return tail(readFileSync(logFile, 'utf8'), 4000);
    } catch {
      return '';
    }
  };
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) {
      await exited;
      return;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, logFile, exited, logTail, stop };
}

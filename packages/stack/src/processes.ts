import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';

/** True if a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in a pid file, if the file exists and the process is alive and is ours. */
export function livePid(pidFile: string, cmdlineMustContain?: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  if (cmdlineMustContain) {
    // A recycled pid belonging to another program is not our service.
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(cmdlineMustContain)) return undefined;
    } catch {
      return undefined;
    }
  }
  return pid;
}

/** Starts a detached daemon (own session, output to a log file) and records its pid. */
export function spawnDaemon(cmd: string, args: string[], opts: { logFile: string; pidFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): number {
  const log = openSync(opts.logFile, 'a', 0o640);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log], env: opts.env ?? process.env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    writeFileSync(opts.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, wait up to graceMs, then SIGKILL; resolves when the process is gone. */
export async function stopProcess(pid: number, graceMs: number): Promise<'terminated' | 'killed' | 'absent'> {
  if (!pidAlive(pid)) return 'absent';
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!pidAlive(pid)) return 'terminated';
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  while (pidAlive(pid)) await sleep(20);
  return 'killed';
}

/** Removes files a crashed process left behind. */
export function removeStale(...files: string[]): void {
  for (const f of files) rmSync(f, { force: true });
}

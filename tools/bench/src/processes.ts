// Stopping processes the harness started (by pid, never by name).
import { sleep } from './exec.js';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the pid is gone (or after 10 s more, not hanging cleanup forever). */
export async function killAndWait(pid: number, graceMs: number): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  if (!pidAlive(pid)) return;
  signal('SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!pidAlive(pid)) return;
    await sleep(50);
  }
  signal('SIGKILL');
  const hardUntil = Date.now() + 10_000;
  while (pidAlive(pid) && Date.now() < hardUntil) await sleep(20);
}

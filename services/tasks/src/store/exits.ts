// The log of process exits seen, keyed so that a redelivered exit is
// recognised as the same one.
import type { Store } from '@berth/store';
import type { ExitInfo } from '../records.js';

export class ExitLog {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an exit; false when this exit (same container, exec and key) was recorded before. */
  record(containerId: string, execId: string, key: string, exit: ExitInfo): boolean {
    const info = this.db
      .prepare(
        `INSERT OR IGNORE INTO exits (container_id, exec_id, exit_key, exit_code, exit_signal, exit_oom, exited_at, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(containerId, execId, key, exit.exitCode, exit.signal, exit.oomKilled ? 1 : 0, exit.exitedAt, this.now());
    return info.changes === 1;
  }

  /** The last recorded exit of a process (exec id "" for the init process). */
  last(containerId: string, execId: string): ExitInfo | undefined {
    const row = this.db
      .prepare(
        `SELECT exit_code, exit_signal, exit_oom, exited_at FROM exits
         WHERE container_id = ? AND exec_id = ? ORDER BY exited_at DESC, recorded_at DESC LIMIT 1`,
      )
      .get(containerId, execId) as
      | { exit_code: number; exit_signal: number; exit_oom: number; exited_at: number }
      | undefined;
    return row
      ? { exitCode: row.exit_code, signal: row.exit_signal, oomKilled: row.exit_oom === 1, exitedAt: row.exited_at }
      : undefined;
  }

  /** Forgets a removed container's exits. */
  forget(containerId: string): void {
    this.db.prepare('DELETE FROM exits WHERE container_id = ?').run(containerId);
  }
}

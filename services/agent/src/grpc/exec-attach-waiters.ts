// Clients attached to an exec process before it starts (ExecProcess, then
// AttachTask, then StartTask, as `exec -it` does). StartTask hands the first
// one the session made during the start handshake, so no output is missed;
// any others attach normally once the process runs. In memory only: a
// waiting client is a live stream, which a restart ends anyway.
import type { AttachSession } from '../runtime/attach.js';

interface Waiter {
  stdin: boolean;
  resolve(session: AttachSession): void;
  reject(err: unknown): void;
}

export class ExecAttachWaiters {
  private readonly byExec = new Map<string, Waiter[]>();

  private key(id: string, execId: string): string {
    return `${id}\0${execId}`;
  }

  /** Resolves with the session once the exec starts; rejects if its start fails or `signal` aborts. */
  wait(id: string, execId: string, opts: { stdin: boolean; signal: AbortSignal }): Promise<AttachSession> {
    const key = this.key(id, execId);
    return new Promise<AttachSession>((resolve, reject) => {
      const waiter: Waiter = {
        stdin: opts.stdin,
        resolve: (session) => {
          opts.signal.removeEventListener('abort', onAbort);
          // The client left while the exec was starting: let go of its stdio.
          if (opts.signal.aborted) session.detach();
          else resolve(session);
        },
        reject: (err) => {
          opts.signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        const list = this.byExec.get(key)?.filter((w) => w !== waiter) ?? [];
        if (list.length > 0) this.byExec.set(key, list);
        else this.byExec.delete(key);
        reject(opts.signal.reason);
      };
      if (opts.signal.aborted) return reject(opts.signal.reason);
      opts.signal.addEventListener('abort', onAbort, { once: true });
      this.byExec.set(key, [...(this.byExec.get(key) ?? []), waiter]);
    });
  }

  /** Removes and returns the clients waiting for an exec, in arrival order. */
  take(id: string, execId: string): Waiter[] {
    const key = this.key(id, execId);
    const list = this.byExec.get(key) ?? [];
    this.byExec.delete(key);
    return list;
  }
}

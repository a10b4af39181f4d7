// Exits of exec processes. Unlike a container's init, an exec has no shared
// exit dir to watch, so the agent waits on each one it knows: those it
// starts, and at start those a previous agent left (already exited ones are
// reported at once). Each exit goes to TaskEvents.exited with its exec id.
import { isContainerError } from '../errors.js';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import type { TaskEvents } from './task-events.js';

interface Logger {
  warn(obj: object, msg: string): void;
}

export class ExecExitWatcher {
  private readonly controller = new AbortController();
  private readonly watching = new Set<string>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly events: TaskEvents,
    private readonly logger: Logger,
  ) {}

  /** Reports the exec's exit once it happens (or now, if it has). */
  watch(id: string, execId: string, pid?: number): void {
    const key = `${id}\0${execId}`;
    if (this.watching.has(key) || this.controller.signal.aborted) return;
    this.watching.add(key);
    this.runtime
      .waitExec(id, execId, this.controller.signal)
      .then(
        (exit) => this.events.exited(id, exit, { execId, ...(pid !== undefined ? { pid } : {}) }),
        (err: unknown) => {
          // Deleted first (DeleteTask reports the exit itself), or the agent is stopping.
          if (this.controller.signal.aborted || isContainerError(err, 'NOT_FOUND')) return;
          this.logger.warn({ err, containerId: id, execId }, 'cannot wait for an exec process');
        },
      )
      .finally(() => this.watching.delete(key));
  }

  /** Watches every started exec process of every container on the node. */
  async watchAll(containerIds: readonly string[]): Promise<void> {
    for (const id of containerIds) {
      for (const e of await this.runtime.listExecs(id).catch(() => [])) {
        if (e.status !== 'created') this.watch(id, e.execId, e.pid);
      }
    }
  }

  close(): void {
    this.controller.abort();
  }
}

// The tasks service's core, wired from its dependencies: the container and
// task operations, reconcile, and shutdown.
import type { TasksDeps } from './lifecycle/context.js';
import { ContainersApi } from './lifecycle/containers-api.js';
import { Reconciler, type ReconcileReport } from './lifecycle/reconcile.js';
import { Runtime } from './lifecycle/runtime.js';
import { TasksApi } from './lifecycle/tasks-api.js';

export class TasksEngine {
  readonly runtime: Runtime;
  readonly containers: ContainersApi;
  readonly tasks: TasksApi;
  private readonly reconciler: Reconciler;
  private started = false;

  constructor(deps: TasksDeps) {
    this.runtime = new Runtime(deps);
    this.containers = new ContainersApi(this.runtime);
    this.tasks = new TasksApi(this.runtime, this.containers);
    this.reconciler = new Reconciler(this.runtime);
  }

  /**
   * Brings records and reality into agreement for the service's own node and
   * publishes events left queued by a previous run. Call once before serving.
   */
  async start(): Promise<ReconcileReport> {
    const report = await this.reconciler.reconcile(this.runtime.settings.nodeId, { serviceStart: !this.started });
    this.started = true;
    await this.runtime.flushOutbox();
    return report;
  }

  /** Reconciles one node again, e.g. when its agent (re)registers. */
  reconcileNode(nodeId: string): Promise<ReconcileReport> {
    return this.reconciler.reconcile(nodeId, { serviceStart: false });
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

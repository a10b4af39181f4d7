// The tasks service's core, wired from its dependencies: the container and
// task operations, reconcile, and shutdown.
import { DEFAULT_NAMESPACE } from '@berth/api';
import type { TasksDeps } from './lifecycle/context.js';
import { ContainersApi } from './lifecycle/containers-api.js';
import { Reconciler, type ReconcileReport } from './lifecycle/reconcile.js';
import { Runtime } from './lifecycle/runtime.js';
import { TasksApi } from './lifecycle/tasks-api.js';
import { VolumesApi } from './volumes/api.js';

export class TasksEngine {
  readonly runtime: Runtime;
  readonly containers: ContainersApi;
  readonly tasks: TasksApi;
  readonly volumes: VolumesApi;
  private readonly reconciler: Reconciler;
  private started = false;

  constructor(deps: TasksDeps) {
    this.runtime = new Runtime(deps);
    this.containers = new ContainersApi(this.runtime);
    this.tasks = new TasksApi(this.runtime, this.containers);
    this.volumes = new VolumesApi(this.runtime.volumes, this.runtime.store);
    this.reconciler = new Reconciler(this.runtime);
  }

  /**
   * Brings records and reality into agreement for the service's own node and
   * publishes events left queued by a previous run. Call once before serving.
   */
  async start(): Promise<ReconcileReport> {
    this.adoptVolumes();
    const report = await this.reconciler.reconcile(this.runtime.settings.nodeId, { serviceStart: !this.started });
    this.started = true;
    await this.runtime.flushOutbox();
    return report;
  }

  /**
   * Records volume directories that have none. Before namespaces had their
   * own volume directories every namespace's lived in the default's; one
   * that only containers of other namespaces mount stays theirs (unrecorded).
   */
  private adoptVolumes(): void {
    const owners = new Map<string, Set<string>>();
    for (const rec of this.runtime.store.all()) {
      for (const m of rec.spec.mounts) {
        if (m.type === 'volume') owners.set(m.source, (owners.get(m.source) ?? new Set()).add(rec.namespace));
      }
    }
    const adopted = this.runtime.volumes.adoptUnrecorded((name) => {
      const namespaces = owners.get(name);
      return namespaces !== undefined && !namespaces.has(DEFAULT_NAMESPACE);
    });
    if (adopted.length > 0) this.runtime.logger.info({ volumes: adopted }, 'recorded volume directories that had no record');
  }

  /** Reconciles one node again, e.g. when its agent (re)registers. */
  reconcileNode(nodeId: string): Promise<ReconcileReport> {
    return this.reconciler.reconcile(nodeId, { serviceStart: false });
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

// Makes records and reality agree, at start-up and whenever a node's agent
// (re)registers: half-made creates are undone, interrupted removals are
// finished, running records are matched with the agent's tasks (adopted,
// given their recorded exit, or marked lost with exit code 255 — never left
// as ghosts), tasks without a record are reported (and removed only when
// a tombstone proves berth removed their container), and at start-up the
// snapshots of containers a power loss left without a record are removed.
import { status } from '@grpc/grpc-js';
import { errorMessage, grpcCode } from '../errors.js';
import type { ContainerRecord } from '../records.js';
import { restartOnServiceStart } from '../restart-policy.js';
import type { AgentTask, NetworkReconcileResult } from '../ports.js';
import { restartPolicyOf, type Runtime } from './runtime.js';

export interface ReconcileReport {
  node: string;
  /** Half-made containers removed. */
  undone: string[];
  /** Interrupted removals finished. */
  removed: string[];
  /** Running tasks taken back under watch. */
  adopted: string[];
  /** Containers whose task exited while nobody watched (exit recorded from the agent). */
  exited: string[];
  /** Containers whose task vanished without a status (exit 255). */
  lost: string[];
  /** Restarts scheduled by policy. */
  restarts: string[];
  /** Agent tasks no record knows. */
  orphans: string[];
  /** Of those, the ones removed because their container was removed here. */
  orphansRemoved: string[];
  /** Writable snapshots of containers without a record (a power loss took the record back), removed (service start only). */
  snapshotsRemoved: string[];
  /** Records whose reconciliation failed (retried next time), with why. */
  failed: { id: string; error: string }[];
  /** Why matching with the agent was skipped (agent unreachable); undefined when it ran. */
  deferred: string | undefined;
  /** The networking service's cleanup of resources no live container holds (own node only); undefined when it did not run. */
  network: NetworkReconcileResult | undefined;
  /** Why the networking cleanup must be retried (networking service unavailable); undefined otherwise. */
  networkDeferred: string | undefined;
}

const isLive = (r: ContainerRecord) => r.phase === 'running' || r.phase === 'paused';

export class Reconciler {
  constructor(private readonly rt: Runtime) {}

  /** Reconciles the containers of one node. `serviceStart` also applies the restart-on-start rule. */
  async reconcile(nodeId: string, opts: { serviceStart: boolean }): Promise<ReconcileReport> {
    const { rt } = this;
    const report: ReconcileReport = {
      node: nodeId,
      undone: [],
      removed: [],
      adopted: [],
      exited: [],
      lost: [],
      restarts: [],
      orphans: [],
      orphansRemoved: [],
      snapshotsRemoved: [],
      failed: [],
      deferred: undefined,
      network: undefined,
      networkDeferred: undefined,
    };
    const ofNode = () => rt.store.all().filter((r) => r.nodeId === nodeId);
    const guarded = async (id: string, fn: (rec: ContainerRecord) => Promise<void>) => {
      await rt.locks.run(id, async () => {
        const rec = rt.store.get(id);
        if (!rec) return;
        try {
          await fn(rec);
        } catch (err) {
          report.failed.push({ id, error: errorMessage(err) });
          rt.logger.warn({ err, container: id }, 'reconciling a container failed; retried at the next reconcile');
        }
      });
    };

    for (const rec of ofNode()) {
      if (rec.phase === 'creating') {
        await guarded(rec.id, async (r) => {
          // Under the lock, after any create in progress: only one a crash interrupted is still "creating".
          if (r.phase !== 'creating') return;
          await rt.undoCreate(r);
          report.undone.push(r.id);
        });
      } else if (rec.phase === 'removing') {
        await guarded(rec.id, async (r) => {
          if (r.phase !== 'removing') return;
          await rt.finishRemoval(r);
          report.removed.push(r.id);
        });
      }
    }

    if (opts.serviceStart && nodeId === rt.settings.nodeId) await this.reconcileSnapshots(report);

    const mark = rt.taskChangeMark();
    let agentTasks: AgentTask[];
    try {
      agentTasks = await rt.deps.agents.forNode(nodeId).listTasks();
    } catch (err) {
      report.deferred = `cannot list the tasks of node ${nodeId}: ${errorMessage(err)}`;
      rt.logger.warn({ err, node: nodeId }, 'agent unreachable; reconcile deferred until it registers');
      return report;
    }
    const byId = new Map(agentTasks.map((t) => [t.containerId, t]));

    for (const { id } of ofNode()) {
      await guarded(id, async (start) => {
        if (start.phase === 'creating' || start.phase === 'removing') return;
        // Created or started since the listing: the list is older than the record.
        if (rt.taskChangedSince(id, mark)) return;
        let rec = start;
        const task = byId.get(id);
        if (rec.task === 'creating') rec = await rt.teardownTask(rec);
        if (isLive(rec)) this.matchLive(rec, task, report);
        else if (rec.task === 'present') rec = (await this.matchIdle(rec, task, report)) ?? rec;
        rec = rt.store.get(id) ?? rec;
        if (rec.phase === 'restarting') {
          rt.scheduleRestart(rec);
          report.restarts.push(id);
        } else if (
          opts.serviceStart &&
          rec.phase === 'stopped' &&
          rec.exit !== undefined &&
          restartOnServiceStart(restartPolicyOf(rec.spec), {
            exitCode: rec.exit.exitCode,
            restartCount: rec.restartCount,
            stoppedByUser: rec.stoppedByUser,
          })
        ) {
          rt.scheduleRestart(rt.patch(id, { phase: 'restarting', restartAt: rt.now() }));
          report.restarts.push(id);
        }
      });
    }

    const known = new Set(rt.store.all().map((r) => r.id));
    for (const task of agentTasks) {
      if (known.has(task.containerId)) continue;
      report.orphans.push(task.containerId);
      const tombstone = rt.store.tombstone(task.containerId);
      rt.publishJson(tombstone?.namespace ?? rt.settings.eventNamespace, 'tasks.orphaned', {
        containerId: task.containerId,
        nodeId,
        status: task.status,
        pid: task.pid,
        removedContainer: tombstone !== undefined,
      });
      if (!tombstone) {
        rt.logger.warn(
          { container: task.containerId, node: nodeId, status: task.status },
          'the agent runs a task no container record knows; leaving it alone',
        );
        continue;
      }
      try {
        const agent = rt.deps.agents.forNode(nodeId);
        await agent.deleteTask(task.containerId, '', true);
        await agent.removeNetns(task.containerId);
        await rt.deps.networking.detach(tombstone.namespace, task.containerId);
        await rt.deps.networking.removeDns(tombstone.namespace, task.containerId);
        report.orphansRemoved.push(task.containerId);
        rt.logger.info({ container: task.containerId, name: tombstone.name }, 'removed the task of a removed container');
      } catch (err) {
        report.failed.push({ id: task.containerId, error: errorMessage(err) });
      }
    }
    if (nodeId === rt.settings.nodeId) await this.reconcileNetwork(nodeId, agentTasks, report);
    rt.logger.info({ ...report, failed: report.failed.length, network: report.network && { ...report.network, failures: report.network.failures.length } }, 'reconciled');
    return report;
  }

  /**
   * Lets the networking service release what no container of this node holds
   * any more. Live: every record of the node (any phase or namespace, since a
   * half-made or removing record may still own resources) and every task the
   * agent runs, orphans included.
   */
  private async reconcileNetwork(nodeId: string, agentTasks: AgentTask[], report: ReconcileReport): Promise<void> {
    const { rt } = this;
    const live = new Set(rt.store.all().filter((r) => r.nodeId === nodeId).map((r) => r.id));
    for (const task of agentTasks) live.add(task.containerId);
    try {
      report.network = await rt.deps.networking.reconcile(rt.settings.eventNamespace, [...live], nodeId);
    } catch (err) {
      if (grpcCode(err) === status.UNAVAILABLE) {
        report.networkDeferred = `cannot reconcile the network resources of node ${nodeId}: ${errorMessage(err)}`;
        rt.logger.warn({ err, node: nodeId }, 'networking service unavailable; network reconcile retried later');
      } else {
        report.failed.push({ id: `network of node ${nodeId}`, error: errorMessage(err) });
        rt.logger.error({ err, node: nodeId }, 'network reconcile failed');
      }
      return;
    }
    for (const f of report.network.failures) {
      rt.logger.warn({ container: f.containerId, network: f.network, resource: f.resource, error: f.error }, 'networking could not release a resource');
    }
  }

  /**
   * Removes the writable snapshots this service prepared for containers it
   * has no record of. A record is written before its snapshot is prepared
   * and removed after it, so only a power loss, which can take back the last
   * commits of the store (not fsynced one by one) but not the snapshotter's,
   * leaves one. Another tasks service's snapshots (another owner label) and
   * unlabelled ones are not this service's to judge.
   */
  private async reconcileSnapshots(report: ReconcileReport): Promise<void> {
    const { rt } = this;
    const snapshotters = new Set(['', ...rt.store.all().map((r) => r.snapshotter)]);
    for (const snapshotter of snapshotters) {
      try {
        for (const snap of await rt.deps.snapshots.listContainerSnapshots(snapshotter, rt.settings.nodeId)) {
          if (rt.store.get(snap.containerId)) continue;
          await rt.locks.run(snap.containerId, async () => {
            // Under the container's lock: a create of that id in progress holds its record before its snapshot.
            if (rt.store.get(snap.containerId)) return;
            const tombstone = rt.store.tombstone(snap.containerId);
            if (!(await rt.deps.snapshots.remove(tombstone?.namespace ?? rt.settings.eventNamespace, snapshotter, snap.key))) return;
            report.snapshotsRemoved.push(snap.key);
            rt.logger.info({ container: snap.containerId, snapshot: snap.key }, 'removed the snapshot of a container that has no record');
          });
        }
      } catch (err) {
        report.failed.push({ id: `snapshots${snapshotter ? ` of ${snapshotter}` : ''}`, error: errorMessage(err) });
        rt.logger.warn({ err, snapshotter }, 'cannot remove the snapshots of containers without a record; retried at the next start');
      }
    }
  }

  /** A record that says the task runs, against what the agent says. */
  private matchLive(rec: ContainerRecord, task: AgentTask | undefined, report: ReconcileReport): void {
    const { rt } = this;
    if (task && (task.status === 'running' || task.status === 'paused')) {
      const adopted = rt.patch(rec.id, { phase: task.status, pid: task.pid });
      rt.watchInit(adopted);
      for (const execId of task.execIds) {
        if (!rt.exits.last(rec.id, execId)) rt.watchExec(adopted, execId);
      }
      report.adopted.push(rec.id);
    } else if (task?.status === 'stopped' && task.exitStatus) {
      rt.recordInitExit(rec.id, task.exitStatus);
      report.exited.push(rec.id);
    } else {
      const why = task
        ? `the agent of node ${rec.nodeId} reports the task as ${task.status} without an exit status`
        : `the agent of node ${rec.nodeId} has no task for this container`;
      rt.recordLostExit(rec.id, `${why}: exit status unknown`);
      report.lost.push(rec.id);
    }
  }

  /** A record that is not running but holds a task, against what the agent says. */
  private async matchIdle(rec: ContainerRecord, task: AgentTask | undefined, report: ReconcileReport): Promise<ContainerRecord | undefined> {
    const { rt } = this;
    if (task && (task.status === 'running' || task.status === 'paused')) {
      // Started, but the service stopped before it could record it.
      const adopted = rt.patch(rec.id, { phase: task.status, pid: task.pid, startedAt: rt.now(), error: '' });
      rt.watchInit(adopted);
      report.adopted.push(rec.id);
      return adopted;
    }
    if (task?.status === 'stopped' && rec.phase === 'created' && task.exitStatus) {
      rt.recordInitExit(rec.id, task.exitStatus);
      report.exited.push(rec.id);
      return undefined;
    }
    if (!task || task.status === 'stopped') return rt.teardownTask(rec);
    return rec;
  }
}

import { snapshots } from '@berth/api';
import type { ServiceRegistration } from '@berth/service-kit';
import { invalidArgument } from '@berth/service-kit';
import type { HandlerDeps } from './deps.js';
import { optional, toProtoInfo, toProtoMounts } from './convert.js';
import { parseListFilters } from './list-filters.js';
import { checkSnapshotter, namespaceOf } from './request.js';

/** berth.snapshots.v1.Snapshots over the snapshotter. */
export function snapshotsService(deps: HandlerDeps): ServiceRegistration {
  const { sn, rpc, events } = deps;
  const check = (req: { snapshotter: string }) => checkSnapshotter(req.snapshotter, deps.snapshotter);
  const handlers: snapshots.SnapshotsServer = {
    prepareSnapshot: rpc.unary('PrepareSnapshot', async (req: snapshots.PrepareSnapshotRequest) => {
      check(req);
      const mounts = await sn.prepare(req.key, optional(req.parent), req.labels);
      return snapshots.PrepareSnapshotResponse.fromPartial({ mounts: toProtoMounts(mounts) });
    }),
    viewSnapshot: rpc.unary('ViewSnapshot', async (req: snapshots.ViewSnapshotRequest) => {
      check(req);
      const mounts = await sn.view(req.key, optional(req.parent), req.labels);
      return snapshots.ViewSnapshotResponse.fromPartial({ mounts: toProtoMounts(mounts) });
    }),
    getSnapshotMounts: rpc.unary('GetSnapshotMounts', async (req: snapshots.GetSnapshotMountsRequest) => {
      check(req);
      return snapshots.GetSnapshotMountsResponse.fromPartial({ mounts: toProtoMounts(await sn.mounts(req.key)) });
    }),
    commitSnapshot: rpc.unary('CommitSnapshot', async (req: snapshots.CommitSnapshotRequest, call) => {
      check(req);
      const namespace = namespaceOf(call, deps.defaultNamespace);
      // No labels in the request keeps the active snapshot's labels.
      const labels = Object.keys(req.labels).length > 0 ? req.labels : undefined;
      const info = await sn.commit(req.name, req.key, labels);
      await events.committed(namespace, { name: info.key, key: req.key, parent: info.parent });
      return snapshots.CommitSnapshotResponse.fromPartial({});
    }),
    removeSnapshot: rpc.unary('RemoveSnapshot', async (req: snapshots.RemoveSnapshotRequest, call) => {
      check(req);
      const namespace = namespaceOf(call, deps.defaultNamespace);
      await sn.remove(req.key);
      await events.removed(namespace, req.key);
      return snapshots.RemoveSnapshotResponse.fromPartial({});
    }),
    statSnapshot: rpc.unary('StatSnapshot', async (req: snapshots.StatSnapshotRequest) => {
      check(req);
      return snapshots.StatSnapshotResponse.fromPartial({ info: toProtoInfo(await sn.stat(req.key)) });
    }),
    updateSnapshot: rpc.unary('UpdateSnapshot', async (req: snapshots.UpdateSnapshotRequest) => {
      check(req);
      if (!req.info || req.info.name === '') throw invalidArgument('UpdateSnapshot needs info.name: the snapshot to change');
      const info = await sn.update(req.info.name, req.info.labels, req.updateMask ?? []);
      return snapshots.UpdateSnapshotResponse.fromPartial({ info: toProtoInfo(info) });
    }),
    listSnapshots: rpc.unary('ListSnapshots', async (req: snapshots.ListSnapshotsRequest) => {
      check(req);
      const matches = parseListFilters(req.filters);
      const infos = (await sn.list()).filter(matches).map(toProtoInfo);
      return snapshots.ListSnapshotsResponse.fromPartial({ infos });
    }),
    getSnapshotUsage: rpc.unary('GetSnapshotUsage', async (req: snapshots.GetSnapshotUsageRequest) => {
      check(req);
      const usage = await sn.usage(req.key);
      return snapshots.GetSnapshotUsageResponse.fromPartial({ usage: { size: usage.size, inodes: usage.inodes } });
    }),
    cleanupSnapshots: rpc.unary('CleanupSnapshots', async (req: snapshots.CleanupSnapshotsRequest) => {
      check(req);
      const report = await sn.cleanup();
      if (report.removedPaths.length > 0 || report.busyDirs.length > 0) {
        deps.logger.info({ removed: report.removedPaths, busy: report.busyDirs, reclaimedBytes: report.reclaimedBytes }, 'cleanup removed leftovers');
      }
      return snapshots.CleanupSnapshotsResponse.fromPartial({ removedPaths: report.removedPaths, reclaimedBytes: report.reclaimedBytes });
    }),
    getSnapshotterInfo: rpc.unary('GetSnapshotterInfo', async (req: snapshots.GetSnapshotterInfoRequest) => {
      check(req);
      const info = sn.info();
      return snapshots.GetSnapshotterInfoResponse.fromPartial({
        name: deps.snapshotter,
        driver: info.driver,
        root: info.root,
        isDefault: true,
        available: [deps.snapshotter],
      });
    }),
  };
  return { definition: snapshots.SnapshotsService, handlers };
}

// Snapshot garbage collection over the snapshots service's Snapshots API:
// the committed snapshots this service's unpacks made that no image record
// (of any namespace: snapshots share one key space) and no running unpack
// keeps go, children before parents, like Docker's rmi and containerd's GC
// of snapshots. Run after DeleteImage and by PruneContent. It never fails
// its caller: the content is already gone; failures are logged and the next
// pass retries.
import * as grpc from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY, snapshots } from '@berth/api';
import type { Logger } from '@berth/telemetry';
import type { ImagesCore } from '../core.js';
import type { SnapshotHolds } from '../snapshot-holds.js';
import { planSnapshotGc, type SnapshotNode } from '../snapshot-plan.js';
import { referencedChainIds } from '../snapshot-refs.js';
import { statusName } from './status.js';
import type { SnapshotsTarget } from './unpack.js';

/** Each call to the snapshots service (a removal deletes a layer's tree) gets this long. */
const CALL_DEADLINE_MS = 120_000;

export interface SnapshotGcResult {
  /** Removed (for a dry run: would be removed), children before parents. */
  removed: string[];
  /** Left because the snapshots service refused (a child appeared, a reservation) or failed; the next pass retries. */
  skipped: { name: string; reason: string }[];
  /** Unreferenced unpacked snapshots that stay under a snapshot that stays (e.g. a container's). */
  underKept: string[];
}

export interface SnapshotCollector {
  /** One pass for the configured snapshotter; undefined when it could not run (logged). */
  collect(opts: { namespace: string; dryRun?: boolean; why: string }): Promise<SnapshotGcResult | undefined>;
}

export interface SnapshotGcDeps {
  core: Pick<ImagesCore, 'content' | 'images'>;
  holds: SnapshotHolds;
  target: SnapshotsTarget;
  snapshotter: string;
  logger: Logger;
}

export function snapshotCollector(deps: SnapshotGcDeps): SnapshotCollector {
  return {
    collect: async (opts) => {
      try {
        const result = await deps.holds.exclusive(() => collectSnapshots(deps, opts));
        if (result.removed.length > 0 || result.skipped.length > 0) {
          deps.logger.info(
            { why: opts.why, snapshotter: deps.snapshotter, dryRun: opts.dryRun === true, ...result },
            opts.dryRun ? 'snapshot gc: would remove unreferenced layer snapshots' : 'snapshot gc: removed unreferenced layer snapshots',
          );
        }
        return result;
      } catch (err) {
        deps.logger.warn(
          { err, why: opts.why, snapshotter: deps.snapshotter, snapshots: deps.target.address },
          `snapshot gc after ${opts.why} did not run: ${messageOfPeer(err)}; the next prune retries`,
        );
        return undefined;
      }
    },
  };
}

async function collectSnapshots(deps: SnapshotGcDeps, opts: { namespace: string; dryRun?: boolean }): Promise<SnapshotGcResult> {
  const client = deps.target.connectSnapshots();
  const metadata = new grpc.Metadata();
  metadata.set(NAMESPACE_METADATA_KEY, opts.namespace);
  const call = <Res>(start: (options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown) =>
    new Promise<Res>((resolve, reject) => {
      start({ deadline: Date.now() + CALL_DEADLINE_MS }, (err, res) => (err ? reject(err) : resolve(res as Res)));
    });
  try {
    const listed = await call<snapshots.ListSnapshotsResponse>((o, cb) =>
      client.listSnapshots(snapshots.ListSnapshotsRequest.fromPartial({ snapshotter: deps.snapshotter }), metadata, o, cb),
    );
    // Listed first, kept set after: a snapshot committed after the list is not a candidate; a record or hold made after it is seen.
    const keep = await referencedChainIds(deps.core.content, deps.core.images);
    for (const id of deps.holds.held()) keep.add(id);
    const plan = planSnapshotGc(listed.infos.map(nodeOf), keep);
    const result: SnapshotGcResult = { removed: [], skipped: [], underKept: plan.underKept };
    for (const name of plan.remove) {
      if (opts.dryRun) {
        result.removed.push(name);
        continue;
      }
      try {
        await call<snapshots.RemoveSnapshotResponse>((o, cb) =>
          client.removeSnapshot(snapshots.RemoveSnapshotRequest.fromPartial({ snapshotter: deps.snapshotter, key: name }), metadata, o, cb),
        );
        result.removed.push(name);
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        if (code === grpc.status.NOT_FOUND) continue; // another pass (or someone) removed it: the goal is met
        // FAILED_PRECONDITION: it gained a child (or is reserved) since the list; anything else: logged, retried next pass.
        result.skipped.push({ name, reason: `${statusName(code)}: ${messageOfPeer(err)}` });
        if (code === grpc.status.UNAVAILABLE) break;
      }
    }
    return result;
  } finally {
    client.close();
  }
}

function nodeOf(info: snapshots.SnapshotInfo): SnapshotNode {
  const kinds: Partial<Record<snapshots.SnapshotKind, SnapshotNode['kind']>> = {
    [snapshots.SnapshotKind.COMMITTED]: 'committed',
    [snapshots.SnapshotKind.ACTIVE]: 'active',
    [snapshots.SnapshotKind.VIEW]: 'view',
  };
  return { name: info.name, parent: info.parent, kind: kinds[info.kind] ?? 'unknown', labels: info.labels };
}

function messageOfPeer(err: unknown): string {
  const e = err as { details?: string; message?: string } | null;
  return e?.details || e?.message || String(err);
}

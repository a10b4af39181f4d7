import { snapshots, timestampFromDate, types } from '@berth/api';
import type { SnapshotKind } from '../metadata.js';
import type { Mount } from '@berth/mount';
import type { SnapshotInfo } from '../snapshotter.js';

const KINDS: Record<SnapshotKind, snapshots.SnapshotKind> = {
  view: snapshots.SnapshotKind.VIEW,
  active: snapshots.SnapshotKind.ACTIVE,
  committed: snapshots.SnapshotKind.COMMITTED,
};

export function toProtoMount(m: Mount): types.Mount {
  return types.Mount.fromPartial({ type: m.type, source: m.source, target: m.target ?? '', options: m.options });
}

export function toProtoMounts(mounts: readonly Mount[]): types.Mount[] {
  return mounts.map(toProtoMount);
}

export function toProtoInfo(info: SnapshotInfo): snapshots.SnapshotInfo {
  return snapshots.SnapshotInfo.fromPartial({
    name: info.key,
    parent: info.parent ?? '',
    kind: KINDS[info.kind],
    labels: info.labels,
    createdAt: timestampFromDate(info.createdAt),
    updatedAt: timestampFromDate(info.updatedAt),
  });
}

/** "" means no parent in the API; the core wants undefined. */
export const optional = (s: string): string | undefined => (s === '' ? undefined : s);

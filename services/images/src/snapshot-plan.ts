// What a snapshot GC pass removes, decided from the snapshot list alone:
// committed snapshots the images service unpacked (by label) that nothing
// keeps, children before parents. One with a child that stays (a
// container's active snapshot, a user's commit, a kept layer) stays too.

/** Label the images service puts on the snapshots its unpacks commit. */
export const UNPACKED_BY_LABEL = 'berth.io/unpacked-by';
export const UNPACKED_BY = 'images';

export interface SnapshotNode {
  name: string;
  /** Empty or undefined for a base layer. */
  parent?: string;
  kind: 'committed' | 'active' | 'view' | 'unknown';
  labels: Readonly<Record<string, string>>;
}

export interface SnapshotGcPlan {
  /** Removal order: every snapshot comes before its parent. */
  remove: string[];
  /** Unreferenced unpacked snapshots that stay because something stays on top of them. */
  underKept: string[];
}

export function isUnpackedSnapshot(s: SnapshotNode): boolean {
  return s.kind === 'committed' && s.labels[UNPACKED_BY_LABEL] === UNPACKED_BY;
}

export function planSnapshotGc(all: readonly SnapshotNode[], keep: ReadonlySet<string>): SnapshotGcPlan {
  const children = new Map<string, SnapshotNode[]>();
  for (const s of all) {
    if (!s.parent) continue;
    children.set(s.parent, [...(children.get(s.parent) ?? []), s]);
  }
  const removable = new Map<string, boolean>();
  const isRemovable = (s: SnapshotNode): boolean => {
    const known = removable.get(s.name);
    if (known !== undefined) return known;
    removable.set(s.name, false); // a (corrupt) cycle stays
    const result = isUnpackedSnapshot(s) && !keep.has(s.name) && (children.get(s.name) ?? []).every(isRemovable);
    removable.set(s.name, result);
    return result;
  };
  const remove: string[] = [];
  const placed = new Set<string>();
  const place = (s: SnapshotNode): void => {
    if (placed.has(s.name)) return;
    placed.add(s.name);
    for (const c of children.get(s.name) ?? []) place(c);
    remove.push(s.name);
  };
  const underKept: string[] = [];
  for (const s of all) {
    if (isRemovable(s)) place(s);
    else if (isUnpackedSnapshot(s) && !keep.has(s.name)) underKept.push(s.name);
  }
  return { remove, underKept };
}

import { join } from 'node:path';
import type { Mount } from '@berth/mount';
import type { SnapshotKind } from '../metadata.js';

export type DriverName = 'overlayfs' | 'native';

/**
 * Where a layer is applied: `root` receives every write; `lowers` (overlay
 * only, nearest first) are the read-only layers whose merged view paths are
 * resolved against; `overlay` selects overlay-style whiteouts (0:0 char
 * devices, trusted.overlay.opaque) instead of real deletions.
 */
export interface ApplyTarget {
  root: string;
  lowers: readonly string[];
  overlay: boolean;
}

/** What a diff reads: an overlay upper dir as is, or a full tree compared with its parent's. */
export type DiffSource = { mode: 'upper'; dir: string } | { mode: 'compare'; dir: string; base?: string };

export interface DriverSnapshot {
  id: number;
  kind: SnapshotKind;
}

/** Storage layout and mount logic of one snapshotter backend. Ancestor ids are nearest first. */
export interface SnapshotDriver {
  readonly name: DriverName;
  /** Creates the snapshot's directories (runs inside the metadata transaction: fast, synchronous). */
  createDirs(id: number): void;
  /** Whether a new snapshot needs `populate` (slow work outside the transaction). */
  needsPopulate(kind: 'active' | 'view', parentId: number | undefined): boolean;
  populate(id: number, parentId: number): Promise<void>;
  mounts(snap: DriverSnapshot, ancestors: readonly number[]): Mount[];
  applyTarget(id: number, ancestors: readonly number[]): ApplyTarget;
  diffSource(id: number, ancestors: readonly number[]): DiffSource;
  /** The directory holding this snapshot's own data (what usage counts). */
  ownDir(id: number): string;
  /** Extra facts for info(). */
  describe(): Record<string, string>;
}

/** On-disk layout shared by the drivers: <root>/snapshots/<id>/{fs,work}, <root>/removed/. */
export class Layout {
  readonly snapshotsDir: string;
  /** Temporary mount points (diffs between arbitrary snapshots). */
  readonly mountsDir: string;
  /** Directories of removed snapshots, moved here and deleted in the background. */
  readonly removedDir: string;
  constructor(readonly root: string) {
    this.snapshotsDir = join(root, 'snapshots');
    this.mountsDir = join(root, 'mnt');
    this.removedDir = join(root, 'removed');
  }
  dir(id: number): string {
    return join(this.snapshotsDir, String(id));
  }
  fs(id: number): string {
    return join(this.snapshotsDir, String(id), 'fs');
  }
  work(id: number): string {
    return join(this.snapshotsDir, String(id), 'work');
  }
}

export function bindMount(source: string, readonly: boolean): Mount {
  return { type: 'bind', source, options: ['rbind', readonly ? 'ro' : 'rw'] };
}

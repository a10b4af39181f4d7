import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { BackgroundRemover } from '@berth/store';
import { isAbsolute, join } from 'node:path';
import { mountPointsUnder, readMountTable, unmountUnder, type Mount } from '@berth/mount';
import { SnapshotError } from './errors.js';
import { parseFilters } from './filters.js';
import { Metadata, validateKey, type Labels, type SnapshotKind, type SnapshotRecord, type Usage } from './metadata.js';
import { diskUsage } from './usage.js';
import { Layout, type ApplyTarget, type DiffSource, type DriverName, type SnapshotDriver } from './drivers/driver.js';
import { NativeDriver } from './drivers/native.js';
import { OverlayDriver } from './drivers/overlay.js';

export interface SnapshotterOptions {
  /** State directory of the snapshots service (metadata.db, snapshots/<id>/…). */
  root: string;
  /** Storage backend; default overlayfs. A root keeps the driver it was created with. */
  driver?: DriverName;
  /** Told when a removed snapshot's directory cannot be deleted (the next open deletes it). */
  onRemovalError?: (err: unknown, path: string) => void;
}

export interface SnapshotInfo {
  key: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Labels;
  createdAt: Date;
  updatedAt: Date;
  /** Numeric id naming the snapshot's directory. */
  id: number;
}

export interface SnapshotterInfo {
  driver: DriverName;
  root: string;
  details: Record<string, string>;
}

export interface CleanupReport {
  /** Records of interrupted operations that were removed. */
  removedRecords: string[];
  /** Directories without a record that were removed. */
  removedDirs: string[];
  /** Directories left alone because something is mounted inside them. */
  busyDirs: string[];
  /** Every directory removed: those of the removed records, then the orphans. */
  removedPaths: string[];
  /** Disk space the removed directories held (allocated bytes). */
  reclaimedBytes: number;
}

export interface PrepareOptions {
  /**
   * The snapshot belongs to an operation in progress (layer extraction): if
   * the process dies before it is committed or removed, the next start
   * removes it.
   */
  inFlight?: boolean;
}

function toInfo(r: SnapshotRecord): SnapshotInfo {
  return {
    key: r.key,
    kind: r.kind,
    ...(r.parent !== undefined ? { parent: r.parent } : {}),
    labels: r.labels,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    id: r.id,
  };
}

/**
 * containerd's snapshotter model over a driver (overlayfs or native) and the
 * service's own SQLite store. Metadata changes are single transactions; the
 * directories a record names are created inside that transaction and removed
 * after it, so a crash leaves at worst a directory without a record, which
 * cleanup() removes (it runs at open).
 */
export class Snapshotter {
  private readonly ownInFlight = new Set<string>();
  /** Snapshots an operation holds (a layer being applied): commit and remove are refused meanwhile. */
  private readonly reserved = new Map<string, string>();

  private constructor(
    readonly root: string,
    private readonly meta: Metadata,
    private readonly layout: Layout,
    readonly driver: SnapshotDriver,
    /** Directories of removed snapshots, deleted in the background. */
    private readonly removals: BackgroundRemover,
  ) {}

  static async open(opts: SnapshotterOptions): Promise<Snapshotter> {
    const root = opts.root.replace(/\/+$/, '');
    if (!isAbsolute(root)) throw new SnapshotError('invalid_argument', `snapshotter root ${JSON.stringify(opts.root)} must be an absolute path`);
    if (/[,:\s]/.test(root)) {
      throw new SnapshotError('invalid_argument', `snapshotter root ${JSON.stringify(root)} must not contain ',', ':' or whitespace (overlay mount options split on them)`);
    }
    const layout = new Layout(root);
    mkdirSync(layout.snapshotsDir, { recursive: true, mode: 0o700 });
    await removeMountLeftovers(layout.mountsDir);
    // Directories of removed snapshots whose deletion a crash cut short.
    const removals = new BackgroundRemover(layout.removedDir, opts.onRemovalError ?? (() => undefined));
    await removals.purge();
    const meta = Metadata.open(join(root, 'metadata.db'));
    try {
      const wanted = opts.driver ?? 'overlayfs';
      const existing = meta.getMeta('driver');
      if (existing !== undefined && existing !== wanted) {
        throw new SnapshotError('failed_precondition', `snapshotter root ${root} was created with the ${existing} driver; it cannot be opened with ${wanted}`);
      }
      const driver = wanted === 'overlayfs' ? new OverlayDriver(layout) : wanted === 'native' ? new NativeDriver(layout) : undefined;
      if (!driver) throw new SnapshotError('invalid_argument', `unknown snapshot driver ${JSON.stringify(wanted)} (overlayfs, native)`);
      if (existing === undefined) meta.setMeta('driver', wanted);
      const sn = new Snapshotter(root, meta, layout, driver, removals);
      await sn.cleanup();
      return sn;
    } catch (err) {
      meta.close();
      throw err;
    }
  }

  close(): void {
    this.meta.close();
  }

  info(): SnapshotterInfo {
    return { driver: this.driver.name, root: this.root, details: this.driver.describe() };
  }

  private ancestorIds(rec: SnapshotRecord): number[] {
    return this.meta.ancestors(rec).map((a) => a.id);
  }

  private async create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Labels, opts: PrepareOptions): Promise<Mount[]> {
    validateKey(key);
    const parentRec = parent ? this.meta.find(parent) : undefined;
    const populate = this.driver.needsPopulate(kind, parentRec?.id);
    const rec = this.meta.create({ key, kind, ...(parent ? { parent } : {}), labels, inFlight: opts.inFlight === true || populate }, (id) => {
      // An id is only reused after a crash between mkdir and commit: whatever is there is an orphan.
      rmSync(this.layout.dir(id), { recursive: true, force: true });
      this.driver.createDirs(id);
    });
    if (rec.inFlight) this.ownInFlight.add(key);
    if (populate && rec.parentId !== undefined) {
      try {
        await this.driver.populate(rec.id, rec.parentId);
      } catch (err) {
        await this.removeRecord(key).catch(() => undefined);
        throw new SnapshotError('internal', `preparing ${JSON.stringify(key)} from ${JSON.stringify(parent)} failed: ${(err as Error).message}`, { cause: err });
      }
      if (!opts.inFlight) {
        this.meta.settle(key);
        this.ownInFlight.delete(key);
      }
    }
    return this.driver.mounts(rec, this.ancestorIds(rec));
  }

  /** New active (writable) snapshot on top of a committed parent; returns how to mount it. */
  prepare(key: string, parent?: string, labels: Labels = {}, opts: PrepareOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, labels, opts);
  }

  /** New read-only view of a committed parent. */
  view(key: string, parent?: string, labels: Labels = {}): Promise<Mount[]> {
    return this.create('view', key, parent, labels, {});
  }

  async mounts(key: string): Promise<Mount[]> {
    const rec = this.meta.get(key);
    if (rec.kind === 'committed') {
      throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} is committed; only active snapshots and views have mounts`);
    }
    return this.driver.mounts(rec, this.ancestorIds(rec));
  }

  /** Active → committed under `name`, atomically; labels replace the active's when given. */
  async commit(name: string, key: string, labels?: Labels): Promise<SnapshotInfo> {
    this.assertNotReserved(key, 'committed');
    const rec = this.meta.commit(name, key, labels);
    this.ownInFlight.delete(key);
    return toInfo(rec);
  }

  /** Removes a snapshot and its directory; refused while it has children. */
  async remove(key: string): Promise<void> {
    this.assertNotReserved(key, 'removed');
    await this.removeRecord(key);
  }

  /**
   * Runs `work` holding the snapshot: a second reservation, commit and
   * remove are refused (FAILED_PRECONDITION naming `what`) until it settles.
   */
  async reserve<T>(key: string, what: string, work: () => Promise<T>): Promise<T> {
    this.assertNotReserved(key, 'reserved');
    this.reserved.set(key, what);
    try {
      return await work();
    } finally {
      this.reserved.delete(key);
    }
  }

  private assertNotReserved(key: string, action: string): void {
    const what = this.reserved.get(key);
    if (what !== undefined) {
      throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} cannot be ${action} now: ${what}`);
    }
  }

  /**
   * Discards an active snapshot's own changes: its directory is emptied
   * (overlay: an empty upper dir) or refilled from its parent (native). The
   * directory itself stays, so mounts of it stay valid; its own attributes
   * are the caller's to restore (see fsops/root-state.ts).
   */
  async discardChanges(key: string): Promise<void> {
    const rec = this.meta.get(key);
    if (rec.kind !== 'active') {
      throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} is ${rec.kind}; only active snapshots have changes to discard`);
    }
    const own = this.driver.ownDir(rec.id);
    for (const name of readdirSync(own)) await rm(join(own, name), { recursive: true, force: true });
    if (rec.parentId !== undefined && this.driver.needsPopulate('active', rec.parentId)) await this.driver.populate(rec.id, rec.parentId);
  }

  /**
   * Mounts of a read-only view of the snapshot itself: its own data on top
   * of its ancestors (for a view, its parent). Used to compare any two
   * snapshots.
   */
  readonlyMounts(key: string): Mount[] {
    const rec = this.meta.get(key);
    if (rec.kind === 'view') return this.driver.mounts(rec, this.ancestorIds(rec));
    return this.driver.mounts({ id: rec.id, kind: 'view' }, [rec.id, ...this.ancestorIds(rec)]);
  }

  /** A fresh directory for temporary mount points (diffs against another snapshot); removed with its mounts at the next open. */
  mountScratchDir(): string {
    mkdirSync(this.layout.mountsDir, { recursive: true, mode: 0o700 });
    return mkdtempSync(join(this.layout.mountsDir, 'm'));
  }

  private async removeRecord(key: string): Promise<void> {
    const table = await readMountTable(); // read first: from here to the removal nothing awaits
    const rec = this.meta.get(key);
    const busy = mountPointsUnder(table, this.layout.dir(rec.id));
    if (busy.length > 0) {
      throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} cannot be removed: ${busy.join(', ')} is mounted inside its directory`);
    }
    this.meta.remove(key);
    this.ownInFlight.delete(key);
    // Renamed aside at once (a later snapshot may reuse the id), deleted off the caller's path.
    this.removals.remove(this.layout.dir(rec.id));
  }

  /** Settles once every snapshot directory removed so far is deleted from disk. */
  removalsSettled(): Promise<void> {
    return this.removals.settled();
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return toInfo(this.meta.get(key));
  }

  /**
   * Updates labels. Without fieldpaths all labels are replaced; with them,
   * only the named ones: "labels" (all) or "labels.<key>" (set, or delete when
   * absent from `labels`) — containerd's semantics.
   */
  async update(key: string, labels: Labels, fieldpaths: readonly string[] = []): Promise<SnapshotInfo> {
    const rec = this.meta.get(key);
    let next: Labels;
    if (fieldpaths.length === 0) next = { ...labels };
    else {
      next = { ...rec.labels };
      for (const fp of fieldpaths) {
        if (fp === 'labels') next = { ...labels };
        else if (fp.startsWith('labels.')) {
          const k = fp.slice('labels.'.length);
          if (Object.hasOwn(labels, k)) next[k] = labels[k]!;
          else delete next[k];
        } else {
          throw new SnapshotError('invalid_argument', `cannot update field ${JSON.stringify(fp)} of a snapshot (only labels, labels.<key>)`);
        }
      }
    }
    return toInfo(this.meta.setLabels(key, next));
  }

  /** Snapshots matching any of the filters (containerd syntax, see parseFilters); all when none. */
  async list(filters: readonly string[] = []): Promise<SnapshotInfo[]> {
    const match = parseFilters(filters);
    return this.meta.list().map(toInfo).filter(match);
  }

  /** Bytes and inodes of the snapshot's own data; computed once for committed snapshots, then cached. */
  async usage(key: string): Promise<Usage> {
    const rec = this.meta.get(key);
    if (rec.kind === 'committed' && rec.usage) return rec.usage;
    const usage = await diskUsage(this.driver.ownDir(rec.id));
    if (rec.kind === 'committed') this.meta.setUsage(key, usage);
    return usage;
  }

  /**
   * Removes what a crash left: records of in-flight operations this process
   * does not own, and directories no record names.
   */
  async cleanup(): Promise<CleanupReport> {
    const report: CleanupReport = { removedRecords: [], removedDirs: [], busyDirs: [], removedPaths: [], reclaimedBytes: 0 };
    const table = await readMountTable();
    const removeDir = async (dir: string) => {
      report.reclaimedBytes += (await diskUsage(dir).catch(() => ({ size: 0 }))).size;
      await rm(dir, { recursive: true, force: true });
      report.removedPaths.push(dir);
    };
    for (const rec of this.meta.list()) {
      if (!rec.inFlight || this.ownInFlight.has(rec.key)) continue;
      if (this.meta.children(rec.key).length > 0) continue;
      if (mountPointsUnder(table, this.layout.dir(rec.id)).length > 0) {
        report.busyDirs.push(this.layout.dir(rec.id));
        continue;
      }
      this.meta.remove(rec.key);
      await removeDir(this.layout.dir(rec.id));
      report.removedRecords.push(rec.key);
    }
    const live = new Set(this.meta.list().map((r) => String(r.id)));
    for (const name of readdirSync(this.layout.snapshotsDir)) {
      if (live.has(name)) continue;
      const dir = join(this.layout.snapshotsDir, name);
      // A directory created by a prepare still inside its transaction has its record by now (sync); others are orphans.
      if (mountPointsUnder(table, dir).length > 0) {
        report.busyDirs.push(dir);
        continue;
      }
      await removeDir(dir);
      report.removedDirs.push(dir);
    }
    return report;
  }

  /** Where a layer applied to this active snapshot is written (used by apply). */
  applyTarget(key: string): ApplyTarget {
    const rec = this.meta.get(key);
    if (rec.kind !== 'active') {
      throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} is ${rec.kind}; layers are applied to active snapshots`);
    }
    return this.driver.applyTarget(rec.id, this.ancestorIds(rec));
  }

  /** What a diff of this snapshot against its parent reads (used by diff). */
  diffSource(key: string): DiffSource {
    const rec = this.meta.get(key);
    if (rec.kind === 'view') {
      throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} is a view; only active and committed snapshots have changes to diff`);
    }
    return this.driver.diffSource(rec.id, this.ancestorIds(rec));
  }
}

/** Mounts a crashed process left under the scratch mount dir: unmounted, then the dir removed. */
async function removeMountLeftovers(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await unmountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
}

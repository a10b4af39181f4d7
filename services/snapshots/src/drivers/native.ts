import { mkdirSync } from 'node:fs';
import { copyPreserving } from '../fsops/cp.js';
import type { Mount } from '@berth/mount';
import { bindMount, type ApplyTarget, type DiffSource, type DriverSnapshot, type Layout, type SnapshotDriver } from './driver.js';

/**
 * native: every active snapshot is a full copy of its parent, for
 * filesystems overlay cannot stack on. Views bind the parent read-only.
 */
export class NativeDriver implements SnapshotDriver {
  readonly name = 'native' as const;

  constructor(private readonly layout: Layout) {}

  createDirs(id: number): void {
    mkdirSync(this.layout.dir(id), { mode: 0o700 });
    mkdirSync(this.layout.fs(id), { mode: 0o755 });
  }

  needsPopulate(kind: 'active' | 'view', parentId: number | undefined): boolean {
    return kind === 'active' && parentId !== undefined;
  }

  populate(id: number, parentId: number): Promise<void> {
    return copyPreserving(this.layout.fs(parentId), this.layout.fs(id), { into: true });
  }

  mounts(snap: DriverSnapshot, ancestors: readonly number[]): Mount[] {
    if (snap.kind === 'active') return [bindMount(this.layout.fs(snap.id), false)];
    const parent = ancestors[0];
    return [bindMount(this.layout.fs(parent ?? snap.id), true)];
  }

  applyTarget(id: number): ApplyTarget {
    return { root: this.layout.fs(id), lowers: [], overlay: false };
  }

  diffSource(id: number, ancestors: readonly number[]): DiffSource {
    const parent = ancestors[0];
    return { mode: 'compare', dir: this.layout.fs(id), ...(parent !== undefined ? { base: this.layout.fs(parent) } : {}) };
  }

  ownDir(id: number): string {
    return this.layout.fs(id);
  }

  describe(): Record<string, string> {
    return {};
  }
}

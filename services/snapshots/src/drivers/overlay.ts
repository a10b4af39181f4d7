import { mkdirSync, readFileSync } from 'node:fs';
import type { Mount } from '@berth/mount';
import { SnapshotError } from '../errors.js';
import { bindMount, type ApplyTarget, type DiffSource, type DriverSnapshot, type Layout, type SnapshotDriver } from './driver.js';

function moduleParam(name: string): string | undefined {
  try {
    return readFileSync(`/sys/module/overlay/parameters/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function overlaySupported(): boolean {
  try {
    return /\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Diffs read the upper dir directly, which is only complete when overlay
 * copies whole files (no metacopy) and renames dirs for real (no redirects),
 * and the upper carries no inode index. Off is the kernel default; where a
 * module parameter turns one on, the mount turns it off again.
 */
function forcedOffOptions(): string[] {
  return ['index', 'metacopy', 'redirect_dir']
    .filter((p) => ['Y', 'on'].includes(moduleParam(p) ?? 'N'))
    .map((p) => `${p}=off`);
}

/**
 * overlayfs: each snapshot is an upper dir (<id>/fs) plus a work dir; an
 * active snapshot mounts its ancestors' fs dirs as the lowerdir chain.
 */
export class OverlayDriver implements SnapshotDriver {
  readonly name = 'overlayfs' as const;
  private readonly extra: string[];

  constructor(private readonly layout: Layout) {
    if (!overlaySupported()) {
      throw new SnapshotError('failed_precondition', 'the kernel has no overlay filesystem (/proc/filesystems); configure the native driver');
    }
    this.extra = forcedOffOptions();
  }

  createDirs(id: number): void {
    mkdirSync(this.layout.dir(id), { mode: 0o700 });
    mkdirSync(this.layout.fs(id), { mode: 0o755 });
    mkdirSync(this.layout.work(id), { mode: 0o700 });
  }

  needsPopulate(): boolean {
    return false;
  }

  async populate(): Promise<void> {
    // overlay snapshots start empty
  }

  mounts(snap: DriverSnapshot, ancestors: readonly number[]): Mount[] {
    const lowers = ancestors.map((id) => this.layout.fs(id));
    if (snap.kind === 'active') {
      if (lowers.length === 0) return [bindMount(this.layout.fs(snap.id), false)];
      return [
        {
          type: 'overlay',
          source: 'overlay',
          options: [...this.extra, `workdir=${this.layout.work(snap.id)}`, `upperdir=${this.layout.fs(snap.id)}`, `lowerdir=${lowers.join(':')}`],
        },
      ];
    }
    if (lowers.length === 0) return [bindMount(this.layout.fs(snap.id), true)];
    // A single layer is viewed directly; overlay needs two lowers without an upper.
    if (lowers.length === 1) return [bindMount(lowers[0]!, true)];
    return [{ type: 'overlay', source: 'overlay', options: ['ro', ...this.extra, `lowerdir=${lowers.join(':')}`] }];
  }

  applyTarget(id: number, ancestors: readonly number[]): ApplyTarget {
    return { root: this.layout.fs(id), lowers: ancestors.map((a) => this.layout.fs(a)), overlay: true };
  }

  diffSource(id: number): DiffSource {
    return { mode: 'upper', dir: this.layout.fs(id) };
  }

  ownDir(id: number): string {
    return this.layout.fs(id);
  }

  describe(): Record<string, string> {
    return { extraMountOptions: this.extra.join(',') };
  }
}

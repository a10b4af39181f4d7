// Snapshots that running unpacks need, kept out of the snapshot GC's reach.
// A pull or import takes a hold and, before asking the snapshots service to
// unpack, protects the chain ids it will use; it releases the hold once its
// image record exists (from then on the record keeps them). A GC pass runs
// exclusively: a hold protecting ids waits for the pass to end, so an unpack
// either is seen by the pass or starts after it (and re-creates what the
// pass removed). In-process only: one images service per node unpacks.
import { KeyedMutex } from './lock.js';

const GC_KEY = 'snapshot-gc';

export interface SnapshotHold {
  /** Adds `chainIds` to what this hold protects, waiting for a GC pass in progress to end. */
  protect(chainIds: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Drops the protection; safe to call twice. */
  release(): void;
}

export class SnapshotHolds {
  private readonly mutex = new KeyedMutex();
  private readonly live = new Set<Set<string>>();

  hold(): SnapshotHold {
    const ids = new Set<string>();
    let released = false;
    return {
      protect: async (chainIds, signal) => {
        const unlock = await this.mutex.acquire(GC_KEY, signal);
        try {
          if (released) throw new Error('snapshot hold used after its release');
          for (const id of chainIds) ids.add(id);
          this.live.add(ids);
        } finally {
          unlock();
        }
      },
      release: () => {
        released = true;
        this.live.delete(ids);
      },
    };
  }

  /** Every chain id a live hold protects. */
  held(): Set<string> {
    const out = new Set<string>();
    for (const ids of this.live) for (const id of ids) out.add(id);
    return out;
  }

  /** Runs a GC pass: no hold gains ids meanwhile, and passes run one at a time. */
  async exclusive<T>(pass: () => Promise<T>): Promise<T> {
    const unlock = await this.mutex.acquire(GC_KEY);
    try {
      return await pass();
    } finally {
      unlock();
    }
  }
}

// Per-layer progress of a pull, reported as snapshots: state changes at once,
// byte counts at most every `intervalMs`, so a progress bar stays smooth
// without flooding a gRPC stream.
import type { Descriptor, Digest } from '@berth/oci';

export type LayerState = 'waiting' | 'downloading' | 'verifying' | 'extracting' | 'done' | 'exists';

export interface LayerProgress {
  /** Short digest (12 hex characters), as Docker shows layer ids. */
  id: string;
  digest: Digest;
  mediaType: string;
  state: LayerState;
  current: number;
  total: number;
}

export interface PullProgress {
  ref: string;
  phase: 'resolving' | 'fetching' | 'unpacking' | 'done';
  layers: LayerProgress[];
  /** Sum over layers. */
  current: number;
  total: number;
}

export function shortId(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
}

export class ProgressTracker {
  private phase: PullProgress['phase'] = 'resolving';
  private layers: LayerProgress[] = [];
  private lastEmit = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ref: string,
    private readonly sink: ((p: PullProgress) => void) | undefined,
    private readonly intervalMs = 100,
  ) {}

  setLayers(layers: Descriptor[]): void {
    this.layers = layers.map((l) => ({
      id: shortId(l.digest),
      digest: l.digest,
      mediaType: l.mediaType,
      state: 'waiting',
      current: 0,
      total: l.size,
    }));
    this.emitNow();
  }

  setPhase(phase: PullProgress['phase']): void {
    this.phase = phase;
    this.emitNow();
  }

  setState(digest: Digest, state: LayerState): void {
    let changed = false;
    for (const l of this.layers) {
      if (l.digest !== digest || l.state === state) continue;
      l.state = state;
      if (state === 'exists' || state === 'verifying' || state === 'done') l.current = l.total;
      changed = true;
    }
    if (changed) this.emitNow();
  }

  setBytes(digest: Digest, current: number): void {
    for (const l of this.layers) if (l.digest === digest) l.current = current;
    const due = this.lastEmit + this.intervalMs - Date.now();
    if (due <= 0) this.emitNow();
    else if (!this.timer) this.timer = setTimeout(() => this.emitNow(), due);
  }

  snapshot(): PullProgress {
    const layers = this.layers.map((l) => ({ ...l }));
    return {
      ref: this.ref,
      phase: this.phase,
      layers,
      current: layers.reduce((n, l) => n + l.current, 0),
      total: layers.reduce((n, l) => n + l.total, 0),
    };
  }

  /** Stops the pending timer (at the end of a pull). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private emitNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastEmit = Date.now();
    if (!this.sink) return;
    try {
      this.sink(this.snapshot());
    } catch {
      // A broken progress consumer (e.g. a cancelled stream) must not fail the pull.
    }
  }
}

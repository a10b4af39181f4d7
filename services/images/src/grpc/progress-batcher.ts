// Pull progress for the wire: the core reports whole snapshots whenever
// something changes; the stream gets at most one TransferProgress per
// interval (~10/s), holding only the blobs that changed since the last one.
// Byte counts coalesce to the latest; state changes never do: a layer that
// went EXISTS -> EXTRACTING -> DONE within one interval is reported with all
// three, in order, so a client can tell "already exists" from "pulled".
import { images, types } from '@berth/api';
import type { LayerProgress, PullProgress } from '../progress.js';
import { progressStateToProto } from './convert.js';

export class ProgressBatcher {
  /** What the client was last told (or will be told by the pending entries) per blob. */
  private readonly told = new Map<string, { state: string; current: number; total: number }>();
  /** Updates not sent yet, per blob, in order. */
  private readonly pending = new Map<string, types.BlobProgress[]>();
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (progress: images.TransferProgress) => void,
    private readonly intervalMs = 100,
  ) {}

  /** Takes a new snapshot; sends now if the interval has passed, else once it has. */
  update(snapshot: PullProgress): void {
    for (const layer of snapshot.layers) this.record(layer);
    if (this.pending.size === 0 || this.timer) return;
    const due = this.lastSentAt + this.intervalMs - Date.now();
    if (due <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), due);
  }

  /** Sends the pending updates (if any) and stops the timer. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const blobs = [...this.pending.values()].flat();
    this.pending.clear();
    this.lastSentAt = Date.now();
    this.send(images.TransferProgress.fromPartial({ blobs }));
  }

  /** Stops the timer without sending (the stream is gone). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private record(layer: LayerProgress): void {
    const told = this.told.get(layer.digest);
    if (told && told.state === layer.state && told.current === layer.current && told.total === layer.total) return;
    const entry = types.BlobProgress.fromPartial({
      id: layer.id,
      digest: layer.digest,
      mediaType: layer.mediaType,
      state: progressStateToProto(layer.state),
      current: layer.current,
      total: layer.total,
    });
    const queue = this.pending.get(layer.digest) ?? [];
    // Same state: the newer byte count replaces the pending one.
    if (told?.state === layer.state && queue.length > 0) queue[queue.length - 1] = entry;
    else queue.push(entry);
    this.pending.set(layer.digest, queue);
    this.told.set(layer.digest, { state: layer.state, current: layer.current, total: layer.total });
  }
}

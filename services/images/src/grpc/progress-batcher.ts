// Pull progress for the wire: the core reports whole snapshots whenever
// something changes; the stream gets at most one TransferProgress per
// interval (~10/s), holding only the blobs that changed since the last one.
import { images, types } from '@berth/api';
import type { PullProgress } from '../progress.js';
import { progressStateToProto } from './convert.js';

export class ProgressBatcher {
  private readonly sent = new Map<string, string>();
  private latest: PullProgress | undefined;
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (progress: images.TransferProgress) => void,
    private readonly intervalMs = 100,
  ) {}

  /** Takes a new snapshot; sends now if the interval has passed, else once it has. */
  update(snapshot: PullProgress): void {
    this.latest = snapshot;
    if (this.timer) return;
    const due = this.lastSentAt + this.intervalMs - Date.now();
    if (due <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), due);
  }

  /** Sends what changed since the last message (if anything) and stops the timer. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.latest) return;
    const blobs: types.BlobProgress[] = [];
    for (const layer of this.latest.layers) {
      const key = `${layer.state}:${layer.current}:${layer.total}`;
      if (this.sent.get(layer.digest) === key) continue;
      this.sent.set(layer.digest, key);
      blobs.push(
        types.BlobProgress.fromPartial({
          id: layer.id,
          digest: layer.digest,
          mediaType: layer.mediaType,
          state: progressStateToProto(layer.state),
          current: layer.current,
          total: layer.total,
        }),
      );
    }
    if (blobs.length === 0) return;
    this.lastSentAt = Date.now();
    this.send(images.TransferProgress.fromPartial({ blobs }));
  }

  /** Stops the timer without sending (the stream is gone). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

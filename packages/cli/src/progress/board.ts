// What a transfer's progress looks like: per-blob lines with Docker's labels
// and bars, and a total. Pure: the renderer decides where and how often.
import { humanSize } from '../format/units.js';

export type BlobState = 'waiting' | 'downloading' | 'uploading' | 'verifying' | 'extracting' | 'exists' | 'mounted' | 'done';
export type TransferKind = 'pull' | 'push' | 'load';

export interface BlobStatus {
  /** Display id, e.g. the first 12 hex digits of the digest. */
  id: string;
  state: BlobState;
  current: number;
  total: number;
}

const LABELS: Record<TransferKind, Record<BlobState, string>> = {
  pull: {
    waiting: 'Waiting',
    downloading: 'Downloading',
    uploading: 'Uploading',
    verifying: 'Verifying Checksum',
    extracting: 'Extracting',
    exists: 'Already exists',
    mounted: 'Mounted',
    done: 'Pull complete',
  },
  push: {
    waiting: 'Waiting',
    downloading: 'Reading',
    uploading: 'Pushing',
    verifying: 'Verifying',
    extracting: 'Extracting',
    exists: 'Layer already exists',
    mounted: 'Mounted from another repository',
    done: 'Pushed',
  },
  load: {
    waiting: 'Waiting',
    downloading: 'Loading',
    uploading: 'Loading',
    verifying: 'Verifying',
    extracting: 'Extracting',
    exists: 'Already exists',
    mounted: 'Mounted',
    done: 'Loaded',
  },
};

export const stateLabel = (state: BlobState, kind: TransferKind): string => LABELS[kind][state];

/** The API's ProgressState ("PROGRESS_STATE_DOWNLOADING") as a BlobState; undefined for an unknown one. */
export function blobStateOf(apiState: string): BlobState | undefined {
  const s = apiState.replace(/^PROGRESS_STATE_/, '').toLowerCase();
  return s in LABELS.pull ? (s as BlobState) : undefined;
}

/** States with a byte count worth a bar. */
const MOVING: ReadonlySet<BlobState> = new Set(['downloading', 'uploading', 'extracting']);
/** States in which every byte of the blob has been transferred. */
const TRANSFERRED: ReadonlySet<BlobState> = new Set(['verifying', 'extracting', 'exists', 'mounted', 'done']);

/** Docker's bar: `[=========>          ]`, `width` cells between the brackets. */
export function progressBar(current: number, total: number, width = 50): string {
  if (total <= 0) return '';
  const filled = Math.floor((Math.min(Math.max(current, 0), total) / total) * width);
  if (filled >= width) return `[${'='.repeat(width)}]`;
  return `[${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}]`;
}

const amount = (current: number, total: number) =>
  total > 0 ? `${humanSize(current)}/${humanSize(total)}` : current > 0 ? humanSize(current) : '';

/** A blob's line on a terminal: "a3ed95caeb02: Downloading [====>     ]  1.2MB/5.6MB". */
export function blobLine(b: BlobStatus, kind: TransferKind): string {
  const label = `${b.id}: ${stateLabel(b.state, kind)}`;
  if (!MOVING.has(b.state)) return label;
  const bar = progressBar(b.current, b.total);
  return [label, bar, amount(b.current, b.total)].filter((p) => p !== '').join(' ');
}

/** A blob's state change as a plain line, for output that is not a terminal. */
export const plainLine = (b: BlobStatus, kind: TransferKind): string => `${b.id}: ${stateLabel(b.state, kind)}`;

/** Bytes moved over all blobs, for the total line. */
export function totals(blobs: Iterable<BlobStatus>): { current: number; total: number } {
  let current = 0;
  let total = 0;
  for (const b of blobs) {
    total += b.total;
    current += TRANSFERRED.has(b.state) ? b.total : b.state === 'waiting' ? 0 : Math.min(b.current, b.total || b.current);
  }
  return { current, total };
}

/** "Total: [=====>     ] 3.4MB/10MB". */
export function totalLine(blobs: Iterable<BlobStatus>): string {
  const t = totals(blobs);
  return ['Total:', progressBar(t.current, t.total), amount(t.current, t.total)].filter((p) => p !== '').join(' ');
}

/**
 * The blobs of one transfer in the order they first appeared. update() returns
 * the blobs whose state changed, which is what plain output prints.
 */
export class ProgressBoard {
  private readonly blobs = new Map<string, BlobStatus>();

  constructor(readonly kind: TransferKind) {}

  /** Adds blobs not seen yet (e.g. the layers a pull resolved to) as waiting. */
  expect(ids: { id: string; total: number }[]): BlobStatus[] {
    return this.update(ids.filter((b) => !this.blobs.has(b.id)).map((b) => ({ ...b, state: 'waiting' as const, current: 0 })));
  }

  update(updates: BlobStatus[]): BlobStatus[] {
    const changed: BlobStatus[] = [];
    for (const u of updates) {
      const before = this.blobs.get(u.id);
      const next = { ...u, total: u.total || before?.total || 0 };
      this.blobs.set(u.id, next);
      if (!before || before.state !== next.state) changed.push(next);
    }
    return changed;
  }

  all(): BlobStatus[] {
    return [...this.blobs.values()];
  }

  /** Every blob's terminal line, then the total. */
  lines(): string[] {
    const blobs = this.all();
    return blobs.length === 0 ? [] : [...blobs.map((b) => blobLine(b, this.kind)), totalLine(blobs)];
  }

  /** True when every blob has nothing more to transfer. */
  allExisted(): boolean {
    return this.all().every((b) => b.state === 'exists');
  }
}

// Draws a ProgressBoard: on a terminal, lines redrawn in place at most ten
// times a second; elsewhere, one plain line per state change and no bars.
import { ProgressBoard, plainLine, type BlobStatus, type TransferKind } from './board.js';

const REDRAW_MS = 100;

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export class ProgressRenderer {
  readonly board: ProgressBoard;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: ProgressOutput,
    kind: TransferKind,
    private readonly tty = out.isTTY === true,
  ) {
    this.board = new ProgressBoard(kind);
  }

  expect(blobs: { id: string; total: number }[]): void {
    this.after(this.board.expect(blobs));
  }

  update(blobs: BlobStatus[]): void {
    this.after(this.board.update(blobs));
  }

  /** A message line above the bars (e.g. "latest: Pulling from library/busybox"). */
  note(line: string): void {
    if (!this.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  /** Draws the final state and stops redrawing. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tty) this.draw();
  }

  private after(changed: BlobStatus[]): void {
    if (!this.tty) {
      for (const b of changed) this.out.write(`${plainLine(b, this.board.kind)}\n`);
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, REDRAW_MS);
  }

  /** Moves up over the lines drawn last time and erases them. */
  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    // a terminal that reports no width (0) gets the customary 80 columns
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const lines = this.board.lines().map((l) => (l.length > width ? l.slice(0, width) : l));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.out.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }
}

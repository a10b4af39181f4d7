// Log entries as `logs` prints them: bytes to the stream they were written
// to, and with -t a timestamp at the start of each line (a long line split
// into partial entries gets one timestamp).
import { formatTimePoint, type TimePoint } from '../parse/time.js';

export interface LogEntryView {
  stream: 'stdout' | 'stderr';
  time: TimePoint | undefined;
  data: Uint8Array;
  partial: boolean;
}

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** Formats entries in order; `midLine` remembers, per stream, that the last entry was partial. */
export class LogPrinter {
  private readonly midLine = { stdout: false, stderr: false };

  constructor(private readonly timestamps: boolean) {}

  chunk(e: LogEntryView): LogChunk {
    const data = Buffer.from(e.data);
    const prefix = this.timestamps && !this.midLine[e.stream] && e.time ? `${formatTimePoint(e.time)} ` : '';
    this.midLine[e.stream] = e.partial;
    return { stream: e.stream, data: prefix ? Buffer.concat([Buffer.from(prefix), data]) : data };
  }
}

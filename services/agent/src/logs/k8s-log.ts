// The k8s-file log format conmon writes, one record per line:
//   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>
// P marks a partial line (a chunk without its newline, e.g. a long line or a
// prompt); the next records of the same stream continue it until an F.

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  /** The timestamp as written (RFC 3339 with nanoseconds and a zone offset). */
  time: string;
  /** Nanoseconds since the epoch, for ordering and `since` filters. */
  timeNs: bigint;
  stream: LogStream;
  partial: boolean;
  text: string;
}

export interface LogLine {
  time: string;
  timeNs: bigint;
  stream: LogStream;
  /** The whole line without its newline. */
  text: string;
}

const LINE = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/s;
const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch for an RFC 3339 timestamp; undefined if it is not one. */
export function parseTimestampNs(time: string): bigint | undefined {
  const m = TIME.exec(time);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + frac;
}

export function parseLogRecord(line: string): LogRecord | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const time = m[1] as string;
  const timeNs = parseTimestampNs(time);
  if (timeNs === undefined) return undefined;
  return { time, timeNs, stream: m[2] as LogStream, partial: m[3] === 'P', text: m[4] ?? '' };
}

/** Joins partial records into whole lines, per stream; returns the lines and what is still open. */
export class LineAssembler {
  private readonly open = new Map<LogStream, { time: string; timeNs: bigint; text: string }>();

  push(r: LogRecord): LogLine | undefined {
    const prev = this.open.get(r.stream);
    if (r.partial) {
      if (prev) prev.text += r.text;
      else this.open.set(r.stream, { time: r.time, timeNs: r.timeNs, text: r.text });
      return undefined;
    }
    this.open.delete(r.stream);
    return prev
      ? { time: prev.time, timeNs: prev.timeNs, stream: r.stream, text: prev.text + r.text }
      : { time: r.time, timeNs: r.timeNs, stream: r.stream, text: r.text };
  }

  /** Lines still waiting for their end (e.g. the process exited mid-line). */
  flush(): LogLine[] {
    const out = [...this.open.entries()].map(([stream, o]) => ({ ...o, stream }));
    this.open.clear();
    return out.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  }
}

/** Parses a whole log text into lines (unparseable lines are skipped). */
export function parseLogText(text: string, assembler = new LineAssembler()): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    const r = parseLogRecord(raw);
    if (!r) continue;
    const line = assembler.push(r);
    if (line) lines.push(line);
  }
  return lines;
}

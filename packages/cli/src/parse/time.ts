// Durations ("10m", "1h30m", "500ms") and points in time for --since/--until:
// a duration back from now, RFC 3339, a date, or Unix seconds, as Docker takes them.
import { UsageError } from '../output.js';

/** A point in time as google.protobuf.Timestamp holds it. */
export interface TimePoint {
  seconds: number;
  nanos: number;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds in a Go-style duration: "10s", "1.5h", "1h30m", "250ms". */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (text === '0') return 0;
  // \u00b5 is µ: escaped, so the CLI bundle stays ASCII (Node reads a pure-ASCII script faster)
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (text === '' || consumed !== text.length) {
    throw new UsageError(`invalid duration "${input}": expected a number with a unit such as 10s, 5m, 1h30m or 250ms`);
  }
  return total;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const UNIX = /^(\d+)(?:\.(\d{1,9}))?$/;

function fromMillis(millis: number, extraNanos = 0): TimePoint {
  const seconds = Math.floor(millis / 1000);
  return { seconds, nanos: (millis - seconds * 1000) * 1_000_000 + extraNanos };
}

/**
 * The time a --since or --until value names: a duration back from `now`
 * ("10m", "1h30m"), an RFC 3339 time ("2024-05-01T10:00:00Z", fraction up to
 * nanoseconds; without a zone it is local time), a date ("2024-05-01", local
 * midnight), or Unix seconds ("1714557600", "1714557600.5").
 */
export function parseTimePoint(input: string, now: Date = new Date()): TimePoint {
  const text = input.trim();
  const unix = UNIX.exec(text);
  if (unix) return { seconds: Number(unix[1]), nanos: Number((unix[2] ?? '').padEnd(9, '0')) };
  const date = DATE_ONLY.exec(text);
  if (date) return fromMillis(new Date(Number(date[1]), Number(date[2]) - 1, Number(date[3])).getTime());
  const t = RFC3339.exec(text);
  if (t) {
    const [, y, mo, d, h, mi, s, frac = '', zone] = t;
    const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
    let millis: number;
    if (zone === undefined) millis = new Date(...fields).getTime();
    else {
      millis = Date.UTC(...fields);
      if (zone !== 'Z' && zone !== 'z') {
        const sign = zone.startsWith('-') ? -1 : 1;
        millis -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      }
    }
    if (Number.isNaN(millis) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
      throw new UsageError(`invalid time "${input}": not a valid date and time`);
    }
    return fromMillis(millis, Number(frac.padEnd(9, '0')) % 1_000_000_000);
  }
  let ago: number;
  try {
    ago = parseDuration(text);
  } catch {
    throw new UsageError(
      `invalid time "${input}": expected a duration (10m, 1h30m), an RFC 3339 time (2024-05-01T10:00:00Z), a date (2024-05-01) or Unix seconds`,
    );
  }
  return fromMillis(now.getTime() - Math.round(ago));
}

/** RFC 3339 with nanoseconds, as `logs -t` prints it: 2024-05-01T10:00:00.123456789Z. */
export function formatTimePoint(t: TimePoint): string {
  const iso = new Date(t.seconds * 1000).toISOString(); // ...T10:00:00.000Z
  return `${iso.slice(0, 19)}.${String(t.nanos).padStart(9, '0')}Z`;
}

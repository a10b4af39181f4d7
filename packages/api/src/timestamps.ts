// Conversions for google.protobuf.Timestamp, which the generated code keeps
// as { seconds, nanos } so that nanosecond times (log entries) survive.
import type { Timestamp } from './gen/google/protobuf/timestamp.js';

export type { Timestamp };

const NANOS_PER_SECOND = 1_000_000_000n;

/** The Timestamp of a Date (millisecond precision). */
export function timestampFromDate(date: Date): Timestamp {
  const millis = date.getTime();
  if (!Number.isFinite(millis)) throw new Error(`cannot convert an invalid Date to a Timestamp`);
  const seconds = Math.floor(millis / 1000);
  return { seconds, nanos: (millis - seconds * 1000) * 1_000_000 };
}

/** The Date of a Timestamp (sub-millisecond digits are dropped). */
export function dateFromTimestamp(timestamp: Timestamp): Date {
  return new Date(timestamp.seconds * 1000 + Math.floor(timestamp.nanos / 1_000_000));
}

/** The Timestamp of a count of nanoseconds since the Unix epoch. */
export function timestampFromNanos(nanos: bigint): Timestamp {
  let seconds = nanos / NANOS_PER_SECOND;
  let rest = nanos % NANOS_PER_SECOND;
  if (rest < 0n) {
    seconds -= 1n;
    rest += NANOS_PER_SECOND;
  }
  return { seconds: Number(seconds), nanos: Number(rest) };
}

/** Nanoseconds since the Unix epoch of a Timestamp. */
export function nanosFromTimestamp(timestamp: Timestamp): bigint {
  return BigInt(timestamp.seconds) * NANOS_PER_SECOND + BigInt(timestamp.nanos);
}

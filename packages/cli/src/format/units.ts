// Sizes, durations and times the way Docker prints them (go-units).

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function scaled(bytes: number, base: number, units: string[]): string {
  let value = bytes;
  let i = 0;
  while (value >= base && i < units.length - 1) {
    value /= base;
    i++;
  }
  // %.4g: four significant digits, trailing zeros dropped
  return `${Number(value.toPrecision(4))}${units[i]}`;
}

/** Decimal size as `docker images` and pull progress show it: "5.59MB", "812B". */
export const humanSize = (bytes: number): string => scaled(Math.max(0, bytes), 1000, DECIMAL);

/** Binary size as `docker stats` shows memory: "1.5GiB", "512MiB". */
export const binarySize = (bytes: number): string => scaled(Math.max(0, bytes), 1024, BINARY);

/** go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "5 seconds ago"; "-" for an unknown time. */
export function timeAgo(date: Date | undefined, now: Date = new Date()): string {
  if (!date || Number.isNaN(date.getTime())) return '-';
  return `${humanDuration(Math.max(0, now.getTime() - date.getTime()))} ago`;
}

/** Docker's short id: the first 12 hex digits, without an algorithm prefix. */
export function shortId(id: string): string {
  const hex = id.includes(':') ? id.slice(id.indexOf(':') + 1) : id;
  return hex.slice(0, 12);
}

/** Text cut to `max` characters with an ellipsis, as docker truncates COMMAND. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Elapsed nanoseconds of CPU time as ps TIME shows it: "00:01:05". */
export function cpuTime(ns: number): string {
  const total = Math.floor(ns / 1e9);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

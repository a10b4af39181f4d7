// Lines of a container log file as the agent's monitor writes them: the CRI
// ("k8s-file") format conmon uses, `<RFC3339Nano time> <stdout|stderr> <F|P> <bytes>`,
// and, for robustness, Docker's json-file lines.

export type StreamName = 'stdout' | 'stderr';

export interface LogLine {
  /** Nanoseconds since the Unix epoch. */
  timeNs: bigint;
  stream: StreamName;
  /** The line continues in the next entry of the same stream. */
  partial: boolean;
  /** The bytes, with the newline when the line was complete. */
  data: Buffer;
}

const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch of an RFC 3339 time with up to nanosecond digits; undefined when malformed. */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const m = TIME.exec(text);
  if (!m) return undefined;
  const millis = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(millis)) return undefined;
  const fraction = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(millis) * 1_000_000n + fraction;
}

/** Parses one line (without its trailing newline); undefined when it is in neither format. */
export function parseLogLine(line: Buffer): LogLine | undefined {
  if (line[0] === 0x7b /* { */) return parseJsonLine(line);
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s1 < 0 || s2 < 0) return undefined;
  const timeNs = parseRfc3339Nano(line.subarray(0, s1).toString('latin1'));
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (timeNs === undefined || (stream !== 'stdout' && stream !== 'stderr')) return undefined;
  // The tag field: "F" (full) or "P" (partial), possibly with more ":"-separated tags.
  const s3 = line.indexOf(0x20, s2 + 1);
  const tagEnd = s3 < 0 ? line.length : s3;
  const tags = line.subarray(s2 + 1, tagEnd).toString('latin1').split(':');
  const partial = tags.includes('P');
  const content = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  return { timeNs, stream, partial, data: partial ? Buffer.from(content) : Buffer.concat([content, Buffer.from('\n')]) };
}

function parseJsonLine(line: Buffer): LogLine | undefined {
  try {
    const obj = JSON.parse(line.toString('utf8')) as { log?: unknown; stream?: unknown; time?: unknown };
    if (typeof obj.log !== 'string' || (obj.stream !== 'stdout' && obj.stream !== 'stderr') || typeof obj.time !== 'string') {
      return undefined;
    }
    const timeNs = parseRfc3339Nano(obj.time);
    if (timeNs === undefined) return undefined;
    return { timeNs, stream: obj.stream, partial: !obj.log.endsWith('\n'), data: Buffer.from(obj.log, 'utf8') };
  } catch {
    return undefined;
  }
}

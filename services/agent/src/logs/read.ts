// Reading a container's logs back (tail, since, follow) across rotated files.
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { errnoCode } from '../errors.js';
import { LineAssembler, parseLogRecord, parseTimestampNs, type LogLine, type LogStream } from './k8s-log.js';
import { existingLogFiles } from './rotate.js';

export interface ReadLogsOptions {
  /** Only the last n lines (after the since filter). */
  tail?: number;
  /** Only lines at or after this time (Date, RFC 3339 string). */
  since?: Date | string;
  streams?: LogStream[];
  /** How many rotated files to look for; default 64. */
  maxFiles?: number;
}

function sinceNs(since: Date | string | undefined): bigint | undefined {
  if (since === undefined) return undefined;
  if (since instanceof Date) return BigInt(since.getTime()) * 1_000_000n;
  const ns = parseTimestampNs(since);
  if (ns === undefined) {
    const ms = Date.parse(since);
    if (Number.isNaN(ms)) throw new Error(`since: not a timestamp: ${JSON.stringify(since)}`);
    return BigInt(ms) * 1_000_000n;
  }
  return ns;
}

function filter(lines: LogLine[], opts: ReadLogsOptions): LogLine[] {
  const from = sinceNs(opts.since);
  let out = lines.filter((l) => (from === undefined || l.timeNs >= from) && (!opts.streams || opts.streams.includes(l.stream)));
  if (opts.tail !== undefined) {
    if (!Number.isInteger(opts.tail) || opts.tail < 0) throw new Error(`tail must be a non-negative integer, got ${opts.tail}`);
    out = opts.tail === 0 ? [] : out.slice(-opts.tail);
  }
  return out;
}

function parseChunk(text: string, assembler: LineAssembler): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    const r = parseLogRecord(raw);
    if (!r) continue;
    const line = assembler.push(r);
    if (line) out.push(line);
  }
  return out;
}

/** All lines of the log and its rotated predecessors, oldest first. */
export async function readLogs(logPath: string, opts: ReadLogsOptions = {}): Promise<LogLine[]> {
  const assembler = new LineAssembler();
  const lines: LogLine[] = [];
  for (const file of await existingLogFiles(logPath, opts.maxFiles)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue; // rotated away while reading
      throw err;
    }
    lines.push(...parseChunk(text, assembler));
  }
  lines.push(...assembler.flush());
  return filter(lines, opts);
}

export interface FollowLogsOptions extends ReadLogsOptions {
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * Yields the existing lines (tail/since applied), then new lines as they are
 * written, following the live file through rotations, until `signal` aborts.
 */
export async function* followLogs(logPath: string, opts: FollowLogsOptions = {}): AsyncGenerator<LogLine> {
  const pollMs = opts.pollMs ?? 250;
  const assembler = new LineAssembler();
  const keep = (l: LogLine): boolean => !opts.streams || opts.streams.includes(l.stream);

  // History: everything before the live file, plus the live file up to now.
  let handle: FileHandle | undefined;
  let ino = -1;
  let offset = 0;
  let carry = '';
  const history: LogLine[] = [];
  const files = await existingLogFiles(logPath, opts.maxFiles);
  for (const file of files) {
    if (file === logPath) break;
    history.push(...parseChunk(await readFile(file, 'utf8').catch(() => ''), assembler));
  }
  const openLive = async (): Promise<boolean> => {
    try {
      handle = await open(logPath, 'r');
      ino = (await handle.stat()).ino;
      offset = 0;
      carry = '';
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  };
  const drain = async (): Promise<LogLine[]> => {
    if (!handle) return [];
    const out: LogLine[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      const text = carry + buf.subarray(0, bytesRead).toString('utf8');
      const nl = text.lastIndexOf('\n');
      carry = nl < 0 ? text : text.slice(nl + 1);
      if (nl >= 0) out.push(...parseChunk(text.slice(0, nl + 1), assembler));
    }
    return out;
  };
  await openLive();
  history.push(...(await drain()));
  for (const l of filter(history, opts)) yield l;

  const from = sinceNs(opts.since);
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  try {
    watcher = watch(dirname(logPath), { persistent: false }, () => wake?.());
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  try {
    while (!opts.signal?.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, pollMs);
        function done(): void {
          clearTimeout(t);
          wake = undefined;
          opts.signal?.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        opts.signal?.addEventListener('abort', done, { once: true });
      });
      const fresh = await drain();
      // Rotated: the live name is a new file. Finish the old one (done above), then switch.
      let current: number | undefined;
      try {
        current = (await stat(logPath)).ino;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      if (current !== undefined && current !== ino) {
        await handle?.close();
        handle = undefined;
        if (await openLive()) fresh.push(...(await drain()));
      }
      for (const l of fresh) if (keep(l) && (from === undefined || l.timeNs >= from)) yield l;
    }
  } finally {
    watcher?.close();
    await handle?.close();
  }
}

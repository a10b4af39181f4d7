// Reads a container's log files back: rotated files oldest first, then the
// live one; filtered by stream and time, the last N entries, and, when
// following, new entries as they are written (surviving rotation) until the
// container is done or the reader is cancelled.
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseLogLine, type LogLine, type StreamName } from './format.js';

export interface ReadLogsOptions {
  /** Only the last this many entries of what exists now. */
  tail?: number | undefined;
  /** Only entries at or after this time (ns since the epoch). */
  sinceNs?: bigint | undefined;
  /** Only entries before this time (ns since the epoch). */
  untilNs?: bigint | undefined;
  /** Streams to include. */
  streams: ReadonlySet<StreamName>;
  follow: boolean;
  /** While following: true once no more output can come (the task ended for good). */
  isDone(): boolean;
  signal?: AbortSignal | undefined;
  /** Poll interval while following. */
  pollMs?: number;
  /** Most entries per yielded batch. */
  batchSize?: number;
}

/** The log files of `logPath`, oldest first: "<path>.N" … "<path>.1", then "<path>". */
export async function logFiles(logPath: string): Promise<string[]> {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const rotated = names
    .map((n) => ({ n, m: new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)$`).exec(n) }))
    .filter((x) => x.m)
    .sort((a, b) => Number(b.m![1]) - Number(a.m![1]))
    .map((x) => join(dir, x.n));
  return [...rotated, ...(names.includes(base) ? [logPath] : [])];
}

/** Splits bytes into complete lines, keeping an unfinished tail for the next chunk. */
class LineSplitter {
  private rest = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    this.rest = Buffer.from(data.subarray(start));
    return lines;
  }
}

async function readChunk(handle: FileHandle, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(64 * 1024);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
  return buffer.subarray(0, bytesRead);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Yields batches of log entries as the options ask. */
export async function* readLogs(logPath: string, opts: ReadLogsOptions): AsyncGenerator<LogLine[]> {
  const batchSize = opts.batchSize ?? 256;
  const keep = (line: LogLine | undefined): line is LogLine =>
    line !== undefined &&
    opts.streams.has(line.stream) &&
    (opts.sinceNs === undefined || line.timeNs >= opts.sinceNs) &&
    (opts.untilNs === undefined || line.timeNs < opts.untilNs);

  // What exists now: every file in order; the live one is then followed from where reading stopped.
  const files = await logFiles(logPath);
  let backlog: LogLine[] = [];
  let livePosition = 0;
  let liveIno: number | undefined;
  const splitter = new LineSplitter();
  for (const file of files) {
    const handle = await open(file, 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const isLive = file === logPath;
      const fileSplitter = isLive ? splitter : new LineSplitter();
      let position = 0;
      for (;;) {
        const chunk = await readChunk(handle, position);
        if (chunk.length === 0) break;
        position += chunk.length;
        for (const raw of fileSplitter.push(chunk)) {
          const line = parseLogLine(raw);
          if (keep(line)) backlog.push(line);
        }
        if (opts.tail === undefined && backlog.length >= batchSize) {
          yield backlog;
          backlog = [];
        } else if (opts.tail !== undefined && backlog.length > opts.tail * 2 + batchSize) {
          backlog = backlog.slice(-opts.tail);
        }
      }
      if (isLive) {
        livePosition = position;
        liveIno = (await handle.stat()).ino;
      }
    } finally {
      await handle.close();
    }
  }
  if (opts.tail !== undefined) backlog = opts.tail === 0 ? [] : backlog.slice(-opts.tail);
  for (let i = 0; i < backlog.length; i += batchSize) yield backlog.slice(i, i + batchSize);
  if (!opts.follow) return;

  // Following: poll the live file; a new inode or a shorter file means it was rotated or truncated.
  const pollMs = opts.pollMs ?? 200;
  let position = livePosition;
  let ino = liveIno;
  let follower = splitter;
  for (;;) {
    if (opts.signal?.aborted) return;
    const done = opts.isDone();
    const st = await stat(logPath).catch(() => undefined);
    if (st && (ino === undefined || st.ino !== ino || st.size < position)) {
      if (ino !== undefined && st.ino !== ino) {
        // Rotated: the old file is now "<path>.1"; finish it before switching.
        const rotated = `${logPath}.1`;
        const old = await open(rotated, 'r').catch(() => undefined);
        if (old) {
          try {
            const tail: LogLine[] = [];
            for (let c = await readChunk(old, position); c.length > 0; c = await readChunk(old, (position += c.length))) {
              for (const raw of follower.push(c)) {
                const line = parseLogLine(raw);
                if (keep(line)) tail.push(line);
              }
            }
            if (tail.length > 0) yield tail;
          } finally {
            await old.close();
          }
        }
      }
      position = 0;
      ino = st.ino;
      follower = new LineSplitter();
    }
    if (st && st.size > position) {
      const handle = await open(logPath, 'r');
      try {
        const fresh: LogLine[] = [];
        for (let c = await readChunk(handle, position); c.length > 0; c = await readChunk(handle, position)) {
          position += c.length;
          for (const raw of follower.push(c)) {
            const line = parseLogLine(raw);
            if (keep(line)) fresh.push(line);
          }
        }
        for (let i = 0; i < fresh.length; i += batchSize) yield fresh.slice(i, i + batchSize);
      } finally {
        await handle.close();
      }
      continue;
    }
    if (done) return;
    await sleep(pollMs, opts.signal);
  }
}

// Reading container logs back: the CRI format conmon writes, rotated files,
// tail/since/until, stream selection, following new output and rotation.
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLogLine, parseRfc3339Nano } from '../src/logs/format.js';
import { logFiles, readLogs, type ReadLogsOptions } from '../src/logs/reader.js';
import { tmp } from './fakes.js';

const line = (sec: number, stream: 'stdout' | 'stderr', text: string, tag = 'F') =>
  `2024-05-01T10:00:${String(sec).padStart(2, '0')}.000000123+00:00 ${stream} ${tag} ${text}\n`;

let dir: string;
let log: string;
beforeEach(() => {
  dir = tmp('berth-tasks-logs-');
  mkdirSync(dir, { recursive: true });
  log = join(dir, 'container.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function collect(opts: Partial<ReadLogsOptions> = {}) {
  const out: string[] = [];
  for await (const batch of readLogs(log, { streams: new Set(['stdout', 'stderr']), follow: false, isDone: () => true, ...opts })) {
    for (const l of batch) out.push(`${l.stream}:${l.partial ? 'P' : 'F'}:${l.data.toString()}`);
  }
  return out;
}

describe('format', () => {
  it('parses CRI lines with nanosecond times and offsets', () => {
    const l = parseLogLine(Buffer.from('2024-05-01T12:00:00.123456789+02:00 stderr P half'))!;
    expect(l.stream).toBe('stderr');
    expect(l.partial).toBe(true);
    expect(l.data.toString()).toBe('half');
    expect(l.timeNs).toBe(BigInt(Date.parse('2024-05-01T10:00:00Z')) * 1_000_000n + 123_456_789n);
    expect(parseLogLine(Buffer.from('2024-05-01T12:00:00Z stdout F '))!.data.toString()).toBe('\n');
  });

  it('parses Docker json-file lines too, and rejects garbage', () => {
    const l = parseLogLine(Buffer.from('{"log":"hi\\n","stream":"stdout","time":"2024-05-01T10:00:00.5Z"}'))!;
    expect(l.data.toString()).toBe('hi\n');
    expect(l.partial).toBe(false);
    expect(parseLogLine(Buffer.from('not a log line'))).toBeUndefined();
    expect(parseLogLine(Buffer.from('2024-05-01T10:00:00Z stdin F x'))).toBeUndefined();
    expect(parseRfc3339Nano('2024-13-45T99:00:00Z')).toBeUndefined();
  });
});

describe('readLogs', () => {
  it('reads rotated files oldest first, then the live file', async () => {
    writeFileSync(`${log}.2`, line(1, 'stdout', 'one'));
    writeFileSync(`${log}.1`, line(2, 'stdout', 'two'));
    writeFileSync(log, line(3, 'stderr', 'three'));
    expect(await logFiles(log)).toEqual([`${log}.2`, `${log}.1`, log]);
    expect(await collect()).toEqual(['stdout:F:one\n', 'stdout:F:two\n', 'stderr:F:three\n']);
  });

  it('selects streams, time windows and the last N entries', async () => {
    writeFileSync(log, [1, 2, 3, 4, 5].map((s) => line(s, s % 2 ? 'stdout' : 'stderr', `l${s}`)).join(''));
    expect(await collect({ streams: new Set(['stderr']) })).toEqual(['stderr:F:l2\n', 'stderr:F:l4\n']);
    expect(await collect({ tail: 2 })).toEqual(['stderr:F:l4\n', 'stdout:F:l5\n']);
    expect(await collect({ tail: 0 })).toEqual([]);
    const t = (s: number) => parseRfc3339Nano(`2024-05-01T10:00:0${s}.000000123+00:00`)!;
    expect(await collect({ sinceNs: t(2), untilNs: t(4) })).toEqual(['stderr:F:l2\n', 'stdout:F:l3\n']);
  });

  it('keeps partial lines as partial entries and skips garbage lines', async () => {
    writeFileSync(log, line(1, 'stdout', 'ab', 'P') + 'junk\n' + line(2, 'stdout', 'c'));
    expect(await collect()).toEqual(['stdout:P:ab', 'stdout:F:c\n']);
  });

  it('returns nothing for a container that never wrote', async () => {
    expect(await collect()).toEqual([]);
  });

  it('follows new output across a rotation until the container is done', async () => {
    writeFileSync(log, line(1, 'stdout', 'first'));
    let done = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const batch of readLogs(log, { streams: new Set(['stdout', 'stderr']), follow: true, isDone: () => done, pollMs: 10 })) {
        for (const l of batch) seen.push(l.data.toString());
      }
    })();
    const until = async (n: number) => {
      for (let i = 0; i < 500 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(1);
    appendFileSync(log, line(2, 'stdout', 'second'));
    await until(2);
    // Rotation as the agent does it: the live file becomes .1 (and gets a last write), a new live file starts.
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, line(3, 'stdout', 'late'));
    writeFileSync(log, line(4, 'stdout', 'fresh'));
    await until(4);
    done = true;
    await reading;
    expect(seen).toEqual(['first\n', 'second\n', 'late\n', 'fresh\n']);
  });

  it('stops following when cancelled', async () => {
    writeFileSync(log, '');
    const controller = new AbortController();
    const reading = collect({ follow: true, isDone: () => false, signal: controller.signal, pollMs: 10 });
    setTimeout(() => controller.abort(), 30);
    expect(await reading).toEqual([]);
  });
});

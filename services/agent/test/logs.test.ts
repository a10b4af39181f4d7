// The k8s-file log format, reading across rotated files, following, rotation.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LineAssembler, parseLogRecord, parseLogText, parseTimestampNs } from '../src/logs/k8s-log.js';
import { followLogs, readLogs } from '../src/logs/read.js';
import { rotateIfNeeded, shiftLogFiles } from '../src/logs/rotate.js';

const dir = mkdtempSync('/tmp/berth-agent-logs-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T = (s: number, frac = '000000000') => `2026-01-02T03:04:${String(s).padStart(2, '0')}.${frac}+00:00`;

describe('k8s-file records', () => {
  test('parses timestamp, stream, partial flag and text', () => {
    expect(parseLogRecord(`${T(5, '123456789')} stdout F hello world`)).toEqual({
      time: T(5, '123456789'),
      timeNs: BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n + 123456789n,
      stream: 'stdout',
      partial: false,
      text: 'hello world',
    });
    expect(parseLogRecord(`${T(5)} stderr P `)?.partial).toBe(true);
    expect(parseLogRecord('garbage')).toBeUndefined();
    expect(parseLogRecord('2026-99-99T00:00:00Z stdout F x')).toBeUndefined();
    expect(parseTimestampNs('2026-01-02T05:04:05.5+02:00')).toBe(BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n + 500_000_000n);
  });

  test('partial records join into one line per stream', () => {
    const text = [`${T(1)} stdout P abc`, `${T(1)} stderr F err`, `${T(2)} stdout P def`, `${T(3)} stdout F ghi`, `${T(4)} stdout P tail`].join('\n');
    const assembler = new LineAssembler();
    const lines = parseLogText(text, assembler);
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stderr', 'err'],
      ['stdout', 'abcdefghi'],
    ]);
    expect(assembler.flush().map((l) => l.text)).toEqual(['tail']);
  });
});

describe('reading and rotation', () => {
  test('readLogs spans rotated files oldest first, with tail, since and streams', async () => {
    const log = join(dir, 'a.log');
    writeFileSync(`${log}.2`, `${T(1)} stdout F one\n`);
    writeFileSync(`${log}.1`, `${T(2)} stdout F two\n${T(3)} stderr F three\n`);
    writeFileSync(log, `${T(4)} stdout F four\n`);
    expect((await readLogs(log)).map((l) => l.text)).toEqual(['one', 'two', 'three', 'four']);
    expect((await readLogs(log, { tail: 2 })).map((l) => l.text)).toEqual(['three', 'four']);
    expect((await readLogs(log, { since: T(3) })).map((l) => l.text)).toEqual(['three', 'four']);
    expect((await readLogs(log, { streams: ['stderr'] })).map((l) => l.text)).toEqual(['three']);
    expect(await readLogs(log, { tail: 0 })).toEqual([]);
    await expect(readLogs(log, { since: 'yesterday' })).rejects.toThrow(/since/);
    expect(await readLogs(join(dir, 'missing.log'))).toEqual([]);
  });

  test('shiftLogFiles keeps at most maxFiles files', async () => {
    const log = join(dir, 'b.log');
    for (let round = 0; round < 4; round++) {
      writeFileSync(log, `${T(round)} stdout F round-${round}\n`);
      await shiftLogFiles(log, 3);
    }
    expect(existsSync(log)).toBe(false);
    expect(readFileSync(`${log}.1`, 'utf8')).toContain('round-3');
    expect(readFileSync(`${log}.2`, 'utf8')).toContain('round-2');
    expect(existsSync(`${log}.3`)).toBe(false);
    await expect(shiftLogFiles(log, 0)).rejects.toThrow(/maxFiles/);
  });

  test('rotateIfNeeded rotates only past the size limit; without a monitor the rename still happens', async () => {
    const log = join(dir, 'c.log');
    writeFileSync(log, `${T(1)} stdout F small\n`);
    expect(await rotateIfNeeded(log, join(dir, 'no-ctl'), 1000, 2)).toMatchObject({ rotated: false });
    expect(await rotateIfNeeded(log, join(dir, 'no-ctl'), 0, 2)).toMatchObject({ rotated: false });
    expect(await rotateIfNeeded(log, join(dir, 'no-ctl'), 10, 2)).toMatchObject({ rotated: true });
    expect(existsSync(`${log}.1`)).toBe(true);
    writeFileSync(log, `${T(2)} stdout F again\n`);
    expect(await rotateIfNeeded(log, join(dir, 'no-ctl'), 10, 1)).toMatchObject({ rotated: true });
    expect(existsSync(`${log}.1`)).toBe(false);
  });

  test('followLogs yields history, then appends, across a rotation', async () => {
    const log = join(dir, 'd.log');
    writeFileSync(log, `${T(1)} stdout F first\n`);
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const line of followLogs(log, { signal: controller.signal, pollMs: 20 })) {
        seen.push(line.text);
        if (seen.length === 4) controller.abort();
      }
    })();
    const until = async (n: number) => {
      for (let i = 0; i < 500 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(1);
    appendFileSync(log, `${T(2)} stdout P sec`);
    appendFileSync(log, `\n${T(2)} stdout F ond\n`);
    await until(2);
    // Rotate: the old file gets one more line after the rename, then a new file appears.
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, `${T(3)} stdout F third\n`);
    writeFileSync(log, `${T(4)} stderr F fourth\n`);
    await done;
    expect(seen).toEqual(['first', 'second', 'third', 'fourth']);
  });
});

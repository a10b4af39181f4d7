// runProcess runs real programs through its worker thread.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../src/index.js';

describe('runProcess', () => {
  it('captures stdout, stderr and the exit code', async () => {
    const r = await runProcess('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3, signal: null, timedOut: false });
  });

  it('feeds input to stdin; without input stdin is empty', async () => {
    expect((await runProcess('/bin/cat', [], { input: 'hello\n' })).stdout).toBe('hello\n');
    expect((await runProcess('/bin/cat', [])).stdout).toBe('');
  });

  it('passes env and cwd; without env the service environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-process-'));
    try {
      const r = await runProcess('/bin/sh', ['-c', 'echo "$GREETING"; pwd'], { env: { GREETING: 'hi', PATH: '/usr/bin:/bin' }, cwd: dir });
      expect(r.stdout).toBe(`hi\n${dir}\n`);
      process.env['BERTH_PROCESS_TEST'] = 'shared';
      expect((await runProcess('/bin/sh', ['-c', 'echo "$BERTH_PROCESS_TEST"'])).stdout).toBe('shared\n');
    } finally {
      delete process.env['BERTH_PROCESS_TEST'];
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a signal', async () => {
    const r = await runProcess('/bin/sh', ['-c', 'kill -TERM $$']);
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('rejects a program that cannot be started, keeping the errno code', async () => {
    await expect(runProcess('/nonexistent/program', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('kills the whole process group after the timeout', async () => {
    const started = Date.now();
    // the grandchild keeps the pipes open: only a group kill ends this quickly
    const r = await runProcess('/bin/sh', ['-c', 'sleep 30 & sleep 30'], { timeoutMs: 200 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('runs many at once, each with its own answer', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => runProcess('/bin/sh', ['-c', `echo ${i}`])));
    expect(all.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
  });
});

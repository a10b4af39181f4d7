// Releasing runc init through its exec fifo, as `runc start` does: against a
// real fifo, with a shell as the init that writes its byte.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { releaseExecFifo } from '../src/runtime/exec-fifo.js';

let dir: string;
let fifo: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-exec-fifo-'));
  fifo = join(dir, 'exec.fifo');
  execFileSync('mkfifo', [fifo]);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for runc init: opens the fifo for writing (blocking until a reader comes), writes `byte`, exits. */
function init(byte: string) {
  const child = spawn('sh', ['-c', `printf '${byte}' > "$1"`, 'init', fifo], { stdio: 'ignore' });
  return new Promise<number | null>((resolve) => child.on('exit', resolve));
}

describe('releaseExecFifo', () => {
  it('lets init through, reads its byte and removes the fifo (what makes runc say running)', async () => {
    const exited = init('0');
    await releaseExecFifo(fifo, async () => false);
    expect(await exited).toBe(0);
    expect(existsSync(fifo)).toBe(false);
  });

  it('waits for an init that opens the fifo only after the release began', async () => {
    const releasing = releaseExecFifo(fifo, async () => false);
    await new Promise((r) => setTimeout(r, 50));
    const exited = init('0');
    await releasing;
    expect(await exited).toBe(0);
    expect(existsSync(fifo)).toBe(false);
  });

  it('fails as runc does when init is gone, instead of waiting forever, and leaves the fifo', async () => {
    let asked = 0;
    const started = Date.now();
    await expect(releaseExecFifo(fifo, async () => ++asked >= 2)).rejects.toThrow('container process is already dead');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(existsSync(fifo)).toBe(true);
  });

  it('refuses a fifo that yields nothing (the process started already)', async () => {
    const exited = init('');
    await expect(releaseExecFifo(fifo, async () => false)).rejects.toThrow('cannot start an already running container');
    expect(await exited).toBe(0);
  });
});

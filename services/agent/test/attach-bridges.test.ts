// The attach bridge pool: a bridge started ahead of need is what the next
// attach gets, it is replaced after a while, and close() ends the spare.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { attachSocket, BridgePool } from '../src/runtime/attach.js';

/** Pids of this process's perl children (the bridges). */
function perlChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (comm === 'perl' && ppid === process.pid) pids.push(Number(name));
  }
  return pids;
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

let pool: BridgePool | undefined;
afterEach(() => pool?.close());

describe('BridgePool', () => {
  test('hands out the spare it started ahead, starts the next one later, and close() ends the spare', async () => {
    pool = new BridgePool('/usr/bin/perl', 20);
    const first = pool.take();
    first.kill('SIGKILL');
    await until('the first bridge to end', () => !perlChildren().includes(first.pid!));
    await until('a spare bridge', () => perlChildren().length === 1);
    const [spare] = perlChildren();
    const second = pool.take();
    expect(second.pid).toBe(spare);
    second.kill('SIGKILL');
    await until('the next spare', () => perlChildren().some((p) => p !== spare));
    pool.close();
    await until('no bridge left', () => perlChildren().length === 0);
  });

  test('reserve() takes the spare and starts its replacement at once; an unused reservation comes back as the spare', async () => {
    pool = new BridgePool('/usr/bin/perl', 60_000);
    const first = pool.take(); // no spare yet: a new one; the refill waits a minute
    first.kill('SIGKILL');
    await until('the first bridge to end', () => !perlChildren().includes(first.pid!));
    const r1 = pool.reserve(); // no spare: a new bridge for it, and a spare started now (not in a minute)
    await until('the reserved bridge and a spare', () => perlChildren().length === 2);
    const [a, b] = perlChildren();
    const r2 = pool.reserve(); // takes the spare, starts another
    await until('a third bridge', () => perlChildren().length === 3);
    const used = r2.use()!;
    expect([a, b]).toContain(used.pid);
    expect(r2.use()).toBeUndefined();
    r2.release(); // used: nothing to hand back
    used.kill('SIGKILL');
    await until('the used bridge to end', () => !perlChildren().includes(used.pid!));
    r1.release(); // unused, but a spare exists: it is ended
    await until('only the spare left', () => perlChildren().length === 1);
    const [spare] = perlChildren();
    const r3 = pool.reserve();
    await until('a new spare beside the reserved one', () => perlChildren().length === 2);
    const r3pid = perlChildren().includes(spare!) ? spare : undefined;
    expect(r3pid).toBe(spare);
    // An unused reservation with no spare left comes back as the spare.
    pool.take().kill('SIGKILL'); // takes the spare (the refill waits a minute)
    await until('the taken spare to end', () => perlChildren().length === 1);
    r3.release();
    const back = pool.take();
    expect(back.pid).toBe(spare);
    back.kill('SIGKILL');
    pool.close();
    await until('no bridge left', () => perlChildren().length === 0);
  });

  test('a bridge from the pool reports a missing socket like a new one', async () => {
    pool = new BridgePool('/usr/bin/perl', 20);
    await expect(attachSocket('/nonexistent-berth-dir', { bridges: pool })).rejects.toThrow(/cannot enter \/nonexistent-berth-dir/);
    await until('a spare bridge', () => perlChildren().length === 1);
    await expect(attachSocket('/tmp', { bridges: pool })).rejects.toThrow(/cannot connect to \/tmp\/attach/);
  });

  test('without perl, the attach fails naming the helper', async () => {
    pool = new BridgePool('/nonexistent/perl', 20);
    await expect(attachSocket('/tmp', { bridges: pool })).rejects.toThrow(/cannot start the attach helper \(\/nonexistent\/perl\)/);
  });
});

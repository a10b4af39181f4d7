// Watching the exit dir: which files name containers, inotify events that
// name one container, the full scan behind them; and ContainerRuntime's
// watchExits over exit files laid out as conmon leaves them.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ContainerRuntime } from '../src/runtime/container-runtime.js';
import { exitFileIds, watchExitDir } from '../src/runtime/exit-watch.js';
import { eventually } from './helpers/suite.js';

let root: string;
const stops: Array<() => void> = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-exit-watch-'));
});

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  rmSync(root, { recursive: true, force: true });
});

/** Writes an exit file the way conmon does (glib: a temp file renamed into place). */
function writeExit(dir: string, id: string, code: number): void {
  const temp = join(dir, `${id}.Ab12Cd`);
  writeFileSync(temp, String(code));
  renameSync(temp, join(dir, id));
}

/** Collects what watchExitDir hands over. */
function watch(dir: string, pollMs: number): string[][] {
  const calls: string[][] = [];
  const controller = new AbortController();
  stops.push(() => controller.abort());
  watchExitDir(dir, (ids) => calls.push(ids), { pollMs, signal: controller.signal });
  return calls;
}

describe('exitFileIds', () => {
  test('container ids, each once, in order; nothing that cannot be an id', () => {
    expect(exitFileIds(['b', 'a', 'b', 'web.1'])).toEqual(['b', 'a', 'web.1']);
    expect(exitFileIds(['.tmp-berth-a.0123456789ab', '..', 'a..b', '-x', '', null, undefined, 'x/y'])).toEqual([]);
    expect(exitFileIds(['x'.repeat(129)])).toEqual([]);
  });
});

describe('watchExitDir', () => {
  test('files already there at once, then just the one an event names', async () => {
    writeExit(root, 'old', 1);
    const calls = watch(root, 60_000);
    expect(calls).toEqual([['old']]);
    writeExit(root, 'new', 2);
    await eventually(() => calls.some((ids) => ids.includes('new')), 'the event of the new exit file');
    // Events name one file: no rescan of "old" (the poll is a minute away).
    expect(calls.slice(1).flat().filter((id) => id === 'old')).toEqual([]);
    expect(calls.slice(1).every((ids) => ids.length === 1)).toBe(true);
  });

  test('the poll finds exits when there was no dir to watch at first, and watches it from then on', async () => {
    const dir = join(root, 'exits');
    const calls = watch(dir, 50);
    expect(calls).toEqual([]);
    mkdirSync(dir);
    writeExit(dir, 'c1', 0);
    await eventually(() => calls.some((ids) => ids.includes('c1')), 'the poll to find c1');
    writeExit(dir, 'c2', 0);
    await eventually(() => calls.some((ids) => ids.length === 1 && ids[0] === 'c2'), 'c2');
  });

  test('nothing after abort', async () => {
    const calls = watch(root, 20);
    stops.splice(0).forEach((stop) => stop());
    writeExit(root, 'late', 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toEqual([]);
  });
});

describe('ContainerRuntime.watchExits', () => {
  /** A container's state as create leaves it (only the record's existence matters here). */
  function container(id: string): void {
    const dir = join(root, 'containers', id);
    mkdirSync(join(dir, 'persist'), { recursive: true });
    writeFileSync(join(dir, 'record.json'), JSON.stringify({ version: 1, id, bundle: dir }));
  }

  function watchExits(rt: ContainerRuntime, includeExisting: boolean): Array<[string, number]> {
    const seen: Array<[string, number]> = [];
    stops.push(rt.watchExits((id, exit) => seen.push([id, exit.exitCode]), { includeExisting }));
    return seen;
  }

  test('reports each exit once, seals it, and skips exit files of deleted containers', async () => {
    const rt = new ContainerRuntime({ root, pollMs: 50 });
    mkdirSync(join(root, 'exits'), { recursive: true });
    container('before');
    writeExit(join(root, 'exits'), 'before', 3);
    writeExit(join(root, 'exits'), 'gone', 1); // no record: deleted
    const seen = watchExits(rt, true);
    await eventually(() => seen.length > 0, 'the exit already on disk');
    container('c1');
    writeExit(join(root, 'exits'), 'c1', 137);
    await eventually(() => seen.some(([id]) => id === 'c1'), 'the exit of c1');
    // Several poll periods: still once each.
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.sort()).toEqual([
      ['before', 3],
      ['c1', 137],
    ]);
    const sealed = join(root, 'containers', 'c1', 'exit.json');
    await eventually(() => existsSync(sealed), 'the sealed exit status');
    expect(JSON.parse(readFileSync(sealed, 'utf8'))).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
  });

  test('without includeExisting only exits from now on; a new exit of the same container is reported again', async () => {
    const rt = new ContainerRuntime({ root, pollMs: 50 });
    mkdirSync(join(root, 'exits'), { recursive: true });
    container('c1');
    writeExit(join(root, 'exits'), 'c1', 0);
    const seen = watchExits(rt, false);
    await new Promise((r) => setTimeout(r, 150));
    expect(seen).toEqual([]);
    await eventually(() => existsSync(join(root, 'containers', 'c1', 'exit.json')), 'the seal of the first exit');
    // A restart of c1 (the seal of the earlier run gone with its delete), and a later exit.
    rmSync(join(root, 'containers', 'c1'), { recursive: true });
    container('c1');
    writeExit(join(root, 'exits'), 'c1', 2);
    utimesSync(join(root, 'exits', 'c1'), new Date(), new Date(Date.now() + 5_000));
    await eventually(() => seen.length > 0, 'the second exit of c1');
    expect(seen).toEqual([['c1', 2]]);
  });
});

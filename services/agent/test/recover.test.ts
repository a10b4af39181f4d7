// Containers outlive the agent: a process creates and starts containers and is
// SIGKILLed; the containers keep running; a new ContainerRuntime on the same
// state root re-adopts them and reads real exit codes, including one from a
// container that exited while no agent was running.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContainerRuntime, type CreateOptions } from '../src/runtime/container-runtime.js';
import { containerPaths, runtimeLayout } from '../src/runtime/layout.js';
import { writeRecord } from '../src/runtime/record.js';
import { isMountPoint, mountAll } from '@berth/mount';
import { createSuite, destroySuite, eventually, isAlive, runcState, type Suite } from './helpers/suite.js';

let suite: Suite;

beforeAll(() => {
  suite = createSuite('rec');
});

afterAll(async () => {
  await destroySuite(suite);
});

const VITE_NODE = resolve(__dirname, '../../../node_modules/.bin/vite-node');
const FIXTURE = resolve(__dirname, 'fixtures/create-and-hang.ts');

/** Waits for /tmp/go inside the container, then exits with `code`. */
function waitThenExit(code: number): string[] {
  return ['sh', '-c', `while [ ! -e /tmp/go ]; do sleep 0.1; done; echo bye; exit ${code}`];
}

function rootfsOf(id: string): string {
  return join(containerPaths(runtimeLayout(suite.stateRoot), id).defaultBundle, 'rootfs');
}

/** Runs the fixture and SIGKILLs it once it reports the containers started. */
async function createInDoomedProcess(jobs: Array<{ id: string; start: boolean; options: CreateOptions }>): Promise<number> {
  const jobsFile = join(suite.root, 'jobs.json');
  writeFileSync(jobsFile, JSON.stringify(jobs));
  const child = spawn(VITE_NODE, [FIXTURE], {
    cwd: resolve(__dirname, '..'),
    env: { ...process.env, BERTH_FIXTURE_ROOT: suite.stateRoot, BERTH_FIXTURE_JOBS: jobsFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((res) => child.on('close', () => res()));
  let pid: number;
  try {
    pid = await eventually(
      () => {
        if (child.exitCode !== null) throw new Error(`fixture exited early (${child.exitCode}): ${err}${out}`);
        const m = /READY (\d+)/.exec(out);
        return m ? Number(m[1]) : undefined;
      },
      'the fixture to create its containers',
      60_000,
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  process.kill(pid, 'SIGKILL');
  if (child.pid !== undefined && child.pid !== pid && isAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
  await exited;
  expect(isAlive(pid)).toBe(false);
  return pid;
}

describe('recover after the agent is SIGKILLed', () => {
  test('running containers survive; exit codes are real, even for an exit while no agent ran', async () => {
    const survivor = suite.id('survivor');
    const early = suite.id('early');
    const created = suite.id('created');
    const job = (id: string, args: string[], start: boolean) => ({
      id,
      start,
      options: { spec: suite.spec(id, { cmd: args }), rootfsMounts: suite.overlayFor(id) },
    });
    await createInDoomedProcess([
      job(survivor, waitThenExit(7), true),
      job(early, waitThenExit(3), true),
      job(created, ['echo', 'late start'], false),
    ]);

    // No agent now. The containers run on under their monitors.
    expect(runcState(suite, survivor)).toBe('running');
    expect(runcState(suite, early)).toBe('running');
    expect(runcState(suite, created)).toBe('created');

    // One exits while nobody watches: conmon records it.
    writeFileSync(join(rootfsOf(early), 'tmp/go'), '');
    await eventually(() => existsSync(join(suite.stateRoot, 'exits', early)), 'conmon to record the exit');

    // A new agent process (here: a new instance) re-adopts them.
    const rt = new ContainerRuntime({ root: suite.stateRoot, pollMs: 200 });
    const report = await rt.recover();
    expect(report.removedIncomplete).toEqual([]);
    expect(report.removedOrphans).toEqual([]);
    const byId = new Map(report.containers.map((c) => [c.id, c]));
    expect(byId.get(survivor)?.status).toBe('running');
    expect(byId.get(early)).toMatchObject({ status: 'stopped', exit: { exitCode: 3, oomKilled: false } });
    expect(byId.get(created)?.status).toBe('created');

    // The survivor ends on its own; the new instance reads its real code.
    const waiting = rt.wait(survivor);
    writeFileSync(join(rootfsOf(survivor), 'tmp/go'), '');
    expect(await waiting).toMatchObject({ exitCode: 7 });
    expect((await rt.state(survivor)).exit?.exitCode).toBe(7);

    // The created one can still be started and attached to its log.
    await rt.start(created);
    expect((await rt.wait(created)).exitCode).toBe(0);
    expect(readFileSync((await rt.state(created)).logPath, 'utf8')).toContain('late start');

    // Sealed exit survives a second recover.
    const again = await new ContainerRuntime({ root: suite.stateRoot }).recover();
    expect(again.containers.find((c) => c.id === early)?.exit?.exitCode).toBe(3);

    for (const id of [survivor, early, created]) await rt.delete(id);
    expect(runcState(suite, survivor)).toBeUndefined();
  });

  test('a create interrupted by a crash is cleaned up; orphan runc containers are removed', async () => {
    const layout = runtimeLayout(suite.stateRoot);
    const rt = new ContainerRuntime({ root: suite.stateRoot });
    await rt.list(); // makes the layout dirs

    // Crash after the record was written and the rootfs mounted, before conmon ran.
    const half = suite.id('half');
    const paths = containerPaths(layout, half);
    mkdirSync(paths.dir);
    const mounts = suite.overlayFor(half);
    const rootfs = join(paths.defaultBundle, 'rootfs');
    await mountAll(mounts, rootfs);
    writeRecord(paths.record, {
      version: 1,
      id: half,
      bundle: paths.defaultBundle,
      ownsBundle: true,
      rootfs,
      rootfsMounts: mounts,
      tty: false,
      stdin: false,
      stdinOnce: true,
      logPath: paths.defaultLog,
      logMaxSize: 0,
      logMaxFiles: 3,
      cgroupsPath: undefined,
      createdAt: new Date().toISOString(),
    });
    // Crash before even the record: a bare directory with a leftover temp file.
    const bare = suite.id('bare');
    mkdirSync(containerPaths(layout, bare).dir);
    writeFileSync(join(containerPaths(layout, bare).dir, '.tmp-berth-record.json.123'), '{');

    // A runc container nobody has a record of (e.g. state dir lost).
    const orphan = suite.id('orphan');
    const orphanBundle = join(suite.root, 'orphan-bundle');
    await mountAll(suite.overlayFor(orphan), join(orphanBundle, 'rootfs'));
    writeFileSync(join(orphanBundle, 'config.json'), JSON.stringify(suite.spec(orphan, { cmd: ['sleep', '1000'] })));
    const { execFileSync } = await import('node:child_process');
    execFileSync('/usr/sbin/runc', ['--root', layout.runcRoot, 'create', '--bundle', orphanBundle, orphan], { stdio: 'ignore' });
    expect(runcState(suite, orphan)).toBe('created');

    // A state dir whose deletion in the background the crash cut short.
    const leftover = join(layout.removedDir, `${suite.id('gone')}.1.2.3`);
    mkdirSync(join(leftover, 'bundle'), { recursive: true });
    writeFileSync(join(leftover, 'bundle', 'config.json'), '{}');

    const report = await rt.recover();
    expect(existsSync(leftover)).toBe(false);
    expect(report.removedIncomplete.sort()).toEqual([bare, half].sort());
    expect(report.removedOrphans).toEqual([orphan]);
    expect(existsSync(paths.dir)).toBe(false);
    expect(existsSync(containerPaths(layout, bare).dir)).toBe(false);
    expect(await isMountPoint(rootfs)).toBe(false);
    expect(runcState(suite, orphan)).toBeUndefined();
    expect(await rt.list()).toEqual([]);
  });
});

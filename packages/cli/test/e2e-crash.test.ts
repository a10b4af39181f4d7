// Crash safety of the real stack: the tasks service and the agent are
// SIGKILLed (real processes, started by `berth system up`) while containers
// run. Containers must outlive them; a container that exits while its
// service is down must report its real exit code once `berth system up` has
// brought the service back; no record is left saying "running" for a
// container that is not; a snapshot whose record a power loss took back is
// removed at the next start.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, freePort, makeStateRoot, pushImage, startRegistry, type StateRoot, type TestRegistry } from '@berth/testkit';
import { privateNetwork } from '@berth/testkit';
import { cli, eventually, HEX64, json, said } from './cli-harness.js';
import { assertBuilt } from './built-bin.js';

let state: StateRoot;
let natsPort: number;
let registry: TestRegistry;
let IMAGE: string;

const network = privateNetwork('bck');

const berth = cli(() => ({
  BERTH_ROOT: state.root,
  BERTH_RUNTIME_DIR: state.runtimeDir,
  BERTH_NATS_PORT: String(natsPort),
  BERTH_NODE: 'cli-crash-e2e',
  DOCKER_CONFIG: join(state.root, 'docker-config'),
  ...network.env,
}));

async function ok(args: string[]): Promise<string> {
  const r = await berth(args);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed: ${said(r)}`);
  return r.stdout;
}

interface Component {
  name: string;
  pid: number;
  health: string;
}

async function servicePid(name: string): Promise<number> {
  const list = json<Component[]>(await berth(['system', 'status', '--format', 'json']));
  const c = list.find((x) => x.name === name);
  if (!c || c.pid <= 0) throw new Error(`no running ${name} in system status: ${JSON.stringify(list)}`);
  return c.pid;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGKILLs the service's process and waits until it is gone. */
async function killService(name: string): Promise<void> {
  const pid = await servicePid(name);
  process.kill(pid, 'SIGKILL');
  await eventually(`${name} (pid ${pid}) to die`, async () => (alive(pid) ? undefined : true));
}

interface Inspected {
  status: { state: string; pid?: number; exitStatus?: { exitCode?: number } };
}

async function inspect(ref: string): Promise<Inspected> {
  return json<Inspected[]>(await berth(['inspect', '--type', 'container', ref]))[0]!;
}

/** `berth run -d` of a busybox shell script; the container's host pid. */
async function detached(name: string, script: string): Promise<number> {
  const id = (await ok(['run', '-d', '--network', 'none', '--name', name, IMAGE, 'sh', '-c', script])).trim();
  expect(id).toMatch(HEX64);
  const pid = (await inspect(name)).status.pid ?? 0;
  expect(pid).toBeGreaterThan(0);
  return pid;
}

beforeAll(async () => {
  assertBuilt();
  state = await makeStateRoot('berth-cli-crash');
  natsPort = await freePort();
  registry = await startRegistry();
  const busybox = await busyboxImage();
  await pushImage(busybox.layoutDir, 'library/busybox:latest', { registry });
  IMAGE = `${registry.host}/library/busybox:latest`;
  await ok(['system', 'up']);
  await ok(['pull', '-q', IMAGE]);
});

afterAll(async () => {
  if (state && natsPort) {
    await berth(['system', 'up']).catch(() => undefined); // a test that failed half-way may have left a service down
    const ids = await berth(['ps', '-aq', '--no-trunc']).catch(() => undefined);
    const list = ids?.code === 0 ? ids.stdout.split('\n').filter(Boolean) : [];
    if (list.length > 0) await berth(['rm', '-f', ...list]).catch(() => undefined);
    await berth(['system', 'down']).catch(() => undefined);
  }
  network.cleanup();
  await registry?.stop();
  await state?.cleanup();
});

describe('SIGKILL of a service while containers run', () => {
  it('the tasks service: containers keep running, an exit while it was down is recorded with its code after the restart', async () => {
    const keeper = await detached('keeper', 'exec sleep 600');
    // Exits by itself a little later: while the tasks service is down.
    const quitter = await detached('quitter', 'sleep 4; exit 7');
    await killService('tasks');
    expect(alive(keeper)).toBe(true);
    await eventually('quitter to exit while the tasks service is down', async () => (alive(quitter) ? undefined : true));
    expect(alive(keeper)).toBe(true);

    await ok(['system', 'up']);
    const rows = await eventually('the restarted tasks service to record the exit', async () => {
      const r = await berth(['ps', '-a', '--format', 'json']);
      const list = r.code === 0 ? json<{ Names: string; State: string; ExitCode: number | null }[]>(r) : [];
      return list.find((c) => c.Names === 'quitter')?.State === 'exited' ? list : undefined;
    });
    expect(rows.find((c) => c.Names === 'quitter')).toMatchObject({ State: 'exited', ExitCode: 7 });
    expect(rows.find((c) => c.Names === 'keeper')).toMatchObject({ State: 'running' });
    expect((await inspect('keeper')).status.pid).toBe(keeper);
    expect(alive(keeper)).toBe(true);
    const waited = await berth(['wait', 'quitter']);
    expect(waited.stdout, said(waited)).toBe('7\n');
    // The adopted container is still driven: exec into it, then stop it.
    expect(await ok(['exec', 'keeper', 'echo', 'still here'])).toBe('still here\n');
  });

  it('the agent: containers keep running, an exit while it was down keeps its real code, the restarted agent serves them', async () => {
    const survivor = await detached('survivor', 'exec sleep 600');
    const leaver = await detached('leaver', 'sleep 4; exit 9');
    await killService('agent');
    expect(alive(survivor)).toBe(true);
    await eventually('leaver to exit while the agent is down', async () => (alive(leaver) ? undefined : true));

    await ok(['system', 'up']);
    const leaverState = await eventually('the exit to be recorded', async () => {
      const s = await inspect('leaver');
      return s.status.state === 'CONTAINER_STATE_STOPPED' ? s : undefined;
    });
    expect(leaverState.status.exitStatus?.exitCode).toBe(9);
    const survivorState = await inspect('survivor');
    expect(survivorState.status).toMatchObject({ state: 'CONTAINER_STATE_RUNNING', pid: survivor });
    expect(await ok(['exec', 'survivor', 'echo', 'adopted'])).toBe('adopted\n');
    const stop = await berth(['stop', '-t', '1', 'survivor']);
    expect(stop.code, said(stop)).toBe(0);
    expect(alive(survivor)).toBe(false);
    expect((await inspect('survivor')).status.state).toBe('CONTAINER_STATE_STOPPED');
  });
});

describe('a power loss that takes back the tasks service’s last commits', () => {
  const activeSnapshots = async () => (await ok(['snapshot', 'ls', '-q', '--filter', 'kind=active'])).split('\n').filter(Boolean);

  it('the next start removes the writable snapshot of a container whose record was taken back', async () => {
    const id = (await ok(['create', '--network', 'none', '--name', 'taken-back', IMAGE, 'true'])).trim();
    expect(id).toMatch(HEX64);
    expect(await activeSnapshots()).toContain(id);
    await killService('tasks');
    // What a power loss may do to the store (WAL, synchronous=NORMAL, exits aside): the
    // record's commit is gone, the snapshotter's (fsynced) is not.
    const db = new Database(join(state.root, 'tasks', 'tasks.db'));
    try {
      expect(db.prepare('DELETE FROM containers WHERE id = ?').run(id).changes).toBe(1);
    } finally {
      db.close();
    }
    await ok(['system', 'up']);
    await eventually('the restarted tasks service to remove the snapshot', async () => ((await activeSnapshots()).includes(id) ? undefined : true));
    expect((await berth(['inspect', '--type', 'container', id])).code).not.toBe(0);
    // The name is free, and a container under it runs.
    expect(await ok(['run', '--rm', '--network', 'none', '--name', 'taken-back', IMAGE, 'echo', 'again'])).toBe('again\n');
  });
});

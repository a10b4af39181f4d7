// The launcher for real: nats-server and five service processes on a private
// state root, runtime dir and NATS port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeStateRoot, privateNetwork, startNats } from '@berth/testkit';
import { SERVICE_NAMES, systemDown, systemStatus, systemUp, type StackOptions, type UpEvent } from '../src/index.js';
import { pidAlive } from '../src/processes.js';

let state: Awaited<ReturnType<typeof makeStateRoot>>;
let opts: StackOptions;
// Its own bridge and netns prefix: the networking service's reconcile removes
// every netns of its prefix it does not know, other suites' included.
const network = privateNetwork('bstk');

beforeAll(async () => {
  state = await makeStateRoot('berth-stack');
  opts = {
    root: state.root,
    runtimeDir: state.runtimeDir,
    natsPort: await freePort(),
    natsBinary: 'nats-server',
    node: 'stack-test',
    readyTimeoutMs: 60_000,
    env: { BERTH_LOG_LEVEL: 'info', ...network.env },
    companions: [{ name: 'helper', main: join(state.root, 'helper.cjs'), address: 'unix:/helper.sock' }],
  };
  // a companion that says where it runs and with what environment, and stays until SIGTERM
  writeFileSync(
    join(state.root, 'helper.cjs'),
    "console.log(JSON.stringify({ root: process.env.BERTH_ROOT, runtimeDir: process.env.BERTH_RUNTIME_DIR })); setInterval(() => {}, 1e6); process.on('SIGTERM', () => process.exit(0));\n",
  );
});

afterAll(async () => {
  await systemDown(opts).catch(() => undefined);
  network.cleanup();
  await state.cleanup();
});

const byName = (list: { name: string; pid?: number }[]) => Object.fromEntries(list.map((c) => [c.name, c.pid]));

describe('berth system up/status/down', () => {
  let firstPids: Record<string, number | undefined>;

  it('starts NATS and five services, each its own healthy process', async () => {
    const events: UpEvent[] = [];
    const list = await systemUp(opts, (e) => events.push(e));
    expect(list.map((c) => c.name)).toEqual(['nats', ...SERVICE_NAMES, 'helper']);
    for (const c of list) {
      expect(c.health, c.name).toBe('SERVING');
      expect(c.pid && pidAlive(c.pid), c.name).toBeTruthy();
    }
    const services = list.filter((c) => c.kind === 'service');
    expect(new Set(services.map((c) => c.pid)).size).toBe(5);
    for (const c of services) expect(c.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(events.every((e) => e.action === 'started')).toBe(true);
    // the companion: after the services, with their environment, listed as what it is
    expect(events.at(-1)).toEqual({ name: 'helper', action: 'started' });
    expect(list.at(-1)).toMatchObject({ name: 'helper', kind: 'companion', running: true, address: 'unix:/helper.sock' });
    const said = async () => readFileSync(join(opts.root, 'logs', 'helper.log'), 'utf8');
    while (!(await said()).includes('\n')) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(await said())).toEqual({ root: opts.root, runtimeDir: opts.runtimeDir });
    firstPids = byName(list);
    // Each service logs JSON lines with its name and node.
    const line = readFileSync(join(opts.root, 'logs', 'images.log'), 'utf8').split('\n').find((l) => l.includes('ready'));
    expect(JSON.parse(line!)).toMatchObject({ service: 'images', node: 'stack-test', level: 30 });
  });

  it('is idempotent: a second up starts nothing', async () => {
    const events: UpEvent[] = [];
    const list = await systemUp(opts, (e) => events.push(e));
    expect(events.map((e) => e.action)).toEqual(Array(7).fill('running'));
    expect(byName(list)).toEqual(firstPids);
  });

  it('restarts only a service killed with SIGKILL, replacing its stale files', async () => {
    const victim = firstPids['networking']!;
    process.kill(victim, 'SIGKILL');
    const helper = firstPids['helper']!;
    process.kill(helper, 'SIGKILL');
    while (pidAlive(helper)) await new Promise((r) => setTimeout(r, 20));
    while (pidAlive(victim)) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(join(opts.runtimeDir, 'networking.sock'))).toBe(true); // stale socket left by the crash
    const degraded = await systemStatus(opts);
    expect(degraded.find((c) => c.name === 'networking')?.health).toBe('UNREACHABLE');

    const events: UpEvent[] = [];
    const list = await systemUp(opts, (e) => events.push(e));
    const acted = events.filter((e) => e.action !== 'running');
    expect(acted).toEqual([
      { name: 'networking', action: 'replaced-stale' },
      { name: 'networking', action: 'started' },
      { name: 'helper', action: 'started' },
    ]);
    const pids = byName(list);
    for (const n of ['nats', 'snapshots', 'images', 'agent', 'tasks']) expect(pids[n], n).toBe(firstPids[n]);
    expect(pids['helper']).not.toBe(helper);
    expect(pids['networking']).not.toBe(victim);
    expect(list.every((c) => c.health === 'SERVING')).toBe(true);
  });

  it('refuses to start its NATS on a port another program holds', async () => {
    const other = { ...opts, runtimeDir: join(opts.runtimeDir, 'other'), root: join(opts.root, 'other') };
    await expect(systemUp(other)).rejects.toThrow(new RegExp(`port ${opts.natsPort} is taken`));
  });

  it('stops everything gracefully', async () => {
    const before = await systemStatus(opts);
    const how: Record<string, string> = {};
    await systemDown(opts, (name, h) => (how[name] = h));
    for (const c of before) expect(c.pid && pidAlive(c.pid)).toBeFalsy();
    expect(Object.values(how).every((h) => h === 'terminated')).toBe(true);
    const after = await systemStatus(opts);
    expect(after.every((c) => !c.running)).toBe(true);
    for (const n of SERVICE_NAMES) expect(existsSync(join(opts.runtimeDir, `${n}.sock`)), n).toBe(false);
  });
});

describe('berth system up with an external NATS (BERTH_NATS_URL)', () => {
  it('starts no nats-server of its own; the services use the given one; status says EXTERNAL', async () => {
    const nats = await startNats({ jetstream: true });
    const ext: StackOptions = { ...opts, companions: [], root: join(opts.root, 'ext'), runtimeDir: join(opts.runtimeDir, 'ext'), natsUrl: nats.url, node: 'stack-ext' };
    try {
      const events: UpEvent[] = [];
      const list = await systemUp(ext, (e) => events.push(e));
      expect(events[0]).toEqual({ name: 'nats', action: 'external' });
      expect(list.find((c) => c.name === 'nats')).toMatchObject({ health: 'EXTERNAL' });
      expect(list.filter((c) => c.kind === 'service').every((c) => c.health === 'SERVING')).toBe(true);
      expect(existsSync(join(ext.runtimeDir, 'nats.pid'))).toBe(false);
      const log = readFileSync(join(ext.root, 'logs', 'tasks.log'), 'utf8');
      expect(log).toContain(nats.url.replace(/^nats:\/\//, ''));
    } finally {
      await systemDown(ext).catch(() => undefined);
      await nats.stop();
    }
  });
});

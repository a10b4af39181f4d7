// Reconcile after a crash of the tasks service (simulated by abandoning an
// engine mid-operation and starting a new one over the same store).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tasks } from '@berth/api';
import { eventually, grpcError, Harness } from './fakes.js';
import { status } from '@grpc/grpc-js';

const NS = 'default';
const spec = (overrides: Partial<tasks.ContainerSpec> = {}) => ({ ...tasks.ContainerSpec.fromPartial({ image: 'busybox' }), ...overrides });

let h: Harness;
beforeEach(async () => {
  h = new Harness();
  await h.engine.start();
});
afterEach(async () => {
  await h.close();
});

/** Lets a pending promise run until it blocks. */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('a crash in the middle of create', () => {
  it('after the snapshot was prepared: the restart removes the snapshot and the half-made record', async () => {
    h.snapshots.script.hangAfterNext('prepare');
    void h.engine.containers.create(NS, { id: '', name: 'half', spec: spec() });
    await settle();
    const [half] = h.engine.runtime.store.all();
    expect(half?.phase).toBe('creating');
    expect(h.snapshots.snapshots.has(half!.id)).toBe(true);
    // Invisible while half-made, but its name is held.
    expect(() => h.engine.containers.get(NS, 'half')).toThrow(/no such container/);

    const report = await h.restart();
    expect(report.undone).toEqual([half!.id]);
    expect(h.snapshots.snapshots.size).toBe(0);
    expect(h.engine.runtime.store.all()).toHaveLength(0);
    // The name is free again.
    await h.engine.containers.create(NS, { id: '', name: 'half', spec: spec() });
  });

  it('during the snapshot prepare: the restart cleans whatever the snapshotter made', async () => {
    h.snapshots.script.hangNext('prepare');
    void h.engine.containers.create(NS, { id: '', name: 'half', spec: spec() });
    await settle();
    const report = await h.restart();
    expect(report.undone).toHaveLength(1);
    expect(h.engine.runtime.store.all()).toHaveLength(0);
  });

  it('in the middle of setting the task up: the restart removes netns, attachments and name files', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'mid', spec: spec() });
    h.networking.script.hangNext('prepareDns');
    void h.engine.tasks.startTask(NS, 'mid', '').catch(() => undefined);
    await settle();
    expect(h.agent.netns.has(c.id)).toBe(true);
    expect(h.networking.attachments.has(c.id)).toBe(true);
    expect(h.engine.runtime.store.get(c.id)?.task).toBe('creating');

    await h.restart();
    expect(h.agent.netns.has(c.id)).toBe(false);
    expect(h.networking.attachments.has(c.id)).toBe(false);
    const rec = h.engine.runtime.store.get(c.id)!;
    expect(rec.task).toBe('none');
    expect(rec.phase).toBe('created');
    // And it starts normally afterwards.
    await h.engine.tasks.startTask(NS, 'mid', '');
    expect(h.agent.tasks.get(c.id)?.status).toBe('running');
  });

  it('in the middle of a removal: the restart finishes it', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'bye', spec: spec() });
    const logPath = h.engine.runtime.store.get(c.id)!.logPath;
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, 'x\n');
    h.snapshots.script.hangNext('remove');
    void h.engine.containers.remove(NS, 'bye', { force: false, keepLogs: false });
    await settle();
    expect(h.engine.runtime.store.get(c.id)?.phase).toBe('removing');
    const report = await h.restart();
    expect(report.removed).toEqual([c.id]);
    expect(h.engine.runtime.store.get(c.id)).toBeUndefined();
    expect(h.snapshots.snapshots.has(c.id)).toBe(false);
    expect(existsSync(logPath)).toBe(false);
  });
});

describe('records against the agent after a restart', () => {
  async function running(name: string, s: Partial<tasks.ContainerSpec> = {}) {
    const c = await h.engine.containers.create(NS, { id: '', name, spec: spec(s) });
    await h.engine.tasks.startTask(NS, name, '');
    return c;
  }

  it('adopts a task that still runs and sees its later exit', async () => {
    const c = await running('alive');
    const report = await h.restart();
    expect(report.adopted).toEqual([c.id]);
    expect(h.engine.containers.get(NS, 'alive').phase).toBe('running');
    const waiting = h.engine.tasks.waitTask(NS, 'alive', '');
    h.agent.exit(c.id, 4);
    expect((await waiting).exitCode).toBe(4);
  });

  it('records the real exit code of a task that exited while the service was down, once', async () => {
    const c = await running('died');
    await h.engine.close();
    h.agent.exit(c.id, 42);
    const report = await h.restart();
    expect(report.exited).toEqual([c.id]);
    const rec = h.engine.containers.get(NS, 'died');
    expect(rec.phase).toBe('stopped');
    expect(rec.exit?.exitCode).toBe(42);
    await eventually(() => !h.agent.tasks.has(c.id), 'teardown of the exited task');
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit').filter((e) => (e.payload as { containerId: string }).containerId === c.id)).toHaveLength(1);
    // A second restart does not record or publish it again.
    await h.restart();
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit').filter((e) => (e.payload as { containerId: string }).containerId === c.id)).toHaveLength(1);
  });

  it('never leaves a ghost: a running record whose task vanished gets exit 255 and the reason', async () => {
    const c = await running('ghost');
    await h.engine.close();
    h.agent.tasks.delete(c.id);
    const report = await h.restart();
    expect(report.lost).toEqual([c.id]);
    const rec = h.engine.containers.get(NS, 'ghost');
    expect(rec.phase).toBe('stopped');
    expect(rec.exit?.exitCode).toBe(255);
    expect(rec.error).toContain('exit status unknown');
    await eventually(() => !h.agent.netns.has(c.id), 'netns removed');
  });

  it('restarts by policy a container whose task exited while the service was down', async () => {
    const c = await running('phoenix', { restartPolicy: { name: tasks.RestartPolicyName.ON_FAILURE, maxRetries: 0 } });
    await h.engine.close();
    h.agent.exit(c.id, 1);
    await h.restart();
    await eventually(() => h.engine.runtime.store.get(c.id)?.phase === 'running', 'restarted');
    expect(h.engine.runtime.store.get(c.id)?.restartCount).toBe(1);
  });

  it('starts an "always" container that was stopped when the service comes back, not an "unless-stopped" one', async () => {
    const a = await running('always', { restartPolicy: { name: tasks.RestartPolicyName.ALWAYS, maxRetries: 0 } });
    const u = await running('unless', { restartPolicy: { name: tasks.RestartPolicyName.UNLESS_STOPPED, maxRetries: 0 } });
    for (const name of ['always', 'unless']) await h.engine.tasks.stopTask(NS, tasks.StopTaskRequest.fromPartial({ containerId: name }));
    await eventually(() => !h.agent.tasks.has(a.id) && !h.agent.tasks.has(u.id), 'both torn down');
    const report = await h.restart();
    expect(report.restarts).toEqual([a.id]);
    await eventually(() => h.engine.runtime.store.get(a.id)?.phase === 'running', 'always restarted');
    expect(h.engine.runtime.store.get(u.id)?.phase).toBe('stopped');
  });

  it('adopts a task started just before the crash (start not yet recorded)', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'racy', spec: spec() });
    await h.engine.tasks.createTask(NS, 'racy');
    await h.agent.startTask(c.id, '');
    const report = await h.restart();
    expect(report.adopted).toEqual([c.id]);
    expect(h.engine.containers.get(NS, 'racy').phase).toBe('running');
  });

  it('reports a task no record knows and leaves it alone; removes one whose container was removed here', async () => {
    const stranger = 'f'.repeat(64);
    await h.agent.createTask({ containerId: stranger, spec: {} as never, rootfs: [], stdio: { terminal: false, stdin: false, logPath: '', logMaxBytes: 0, logMaxFiles: 0 }, user: '', privileged: false, copyUps: [] });
    const c = await h.engine.containers.create(NS, { id: '', name: 'zombie', spec: spec() });
    await h.engine.containers.remove(NS, 'zombie', { force: false, keepLogs: false });
    // The agent somehow still holds a task for the removed container.
    await h.agent.createTask({ containerId: c.id, spec: {} as never, rootfs: [], stdio: { terminal: false, stdin: false, logPath: '', logMaxBytes: 0, logMaxFiles: 0 }, user: '', privileged: false, copyUps: [] });
    const report = await h.restart();
    expect(report.orphans.sort()).toEqual([c.id, stranger].sort());
    expect(report.orphansRemoved).toEqual([c.id]);
    expect(h.agent.tasks.has(stranger)).toBe(true);
    expect(h.agent.tasks.has(c.id)).toBe(false);
    expect(h.events.ofType('tasks.orphaned')).toHaveLength(2);
  });

  it('defers matching while the agent is unreachable and leaves records untouched', async () => {
    const c = await running('wait');
    await h.engine.close();
    h.agent.script.failNext('listTasks', grpcError(status.UNAVAILABLE, 'connect ENOENT agent.sock'));
    const report = await h.restart();
    expect(report.deferred).toContain('agent.sock');
    expect(h.engine.runtime.store.get(c.id)?.phase).toBe('running');
    const again = await h.engine.reconcileNode('node-1');
    expect(again.adopted).toEqual([c.id]);
  });

  it('lets networking release what no record of this node nor agent task holds', async () => {
    const kept = await running('kept');
    const idle = await h.engine.containers.create(NS, { id: '', name: 'idle', spec: spec() });
    const stranger = 'e'.repeat(64);
    await h.agent.createTask({ containerId: stranger, spec: {} as never, rootfs: [], stdio: { terminal: false, stdin: false, logPath: '', logMaxBytes: 0, logMaxFiles: 0 }, user: '', privileged: false, copyUps: [] });
    const leaked = 'd'.repeat(64);
    await h.networking.attach('other', { containerId: leaked, containerName: 'gone', netnsPath: '', network: '', aliases: [], ipAddress: '', ports: [], interfaceName: '' });
    await h.networking.prepareDns('other', { containerId: leaked, hostname: 'gone', domainname: '', extraHosts: [], dns: undefined, hostNetwork: false });
    h.networking.reconcileCalls.length = 0;

    const report = await h.restart();
    expect(h.networking.reconcileCalls).toEqual([{ liveContainerIds: [kept.id, idle.id, stranger].sort(), node: 'node-1' }]);
    expect(report.network).toMatchObject({ released: [`${leaked}/bridge`], nameFilesRemoved: [leaked], failures: [] });
    expect(h.networking.attachments.has(kept.id)).toBe(true);
    expect(h.networking.attachments.has(leaked)).toBe(false);
  });

  it('skips the network reconcile for another node and while the agent is unreachable', async () => {
    h.networking.reconcileCalls.length = 0;
    await h.engine.reconcileNode('node-2');
    expect(h.networking.reconcileCalls).toEqual([]);
    h.agent.script.failNext('listTasks', grpcError(status.UNAVAILABLE, 'connect ENOENT agent.sock'));
    const report = await h.engine.reconcileNode('node-1');
    expect(report.deferred).toBeDefined();
    expect(h.networking.reconcileCalls).toEqual([]);
  });

  it('defers the network reconcile while networking is unavailable, then runs it', async () => {
    const c = await running('net');
    h.networking.script.failNext('reconcile', grpcError(status.UNAVAILABLE, 'connect ECONNREFUSED networking'));
    const report = await h.restart();
    expect(report.networkDeferred).toContain('ECONNREFUSED');
    expect(report.network).toBeUndefined();
    expect(report.adopted).toEqual([c.id]);
    const again = await h.engine.reconcileNode('node-1');
    expect(again.networkDeferred).toBeUndefined();
    expect(again.network?.failures).toEqual([]);
    expect(h.networking.attachments.has(c.id)).toBe(true);
  });

  it('publishes a tasks.exit left in the outbox by the crashed process', async () => {
    const c = await running('queued');
    h.events.failDurable = true;
    h.agent.exit(c.id, 9);
    await eventually(() => h.engine.runtime.store.get(c.id)?.phase === 'stopped', 'exit recorded');
    await h.engine.runtime.flushOutbox();
    expect(h.events.ofType('tasks.exit')).toHaveLength(0);
    h.events.failDurable = false;
    await h.restart();
    const exits = h.events.ofType('tasks.exit');
    expect(exits).toHaveLength(1);
    expect(exits[0]?.payload).toMatchObject({ containerId: c.id, exitStatus: { exitCode: 9 } });
  });
});

describe('a reconcile racing with starts', () => {
  it('does not judge a container started after it listed the agent\'s tasks (it would be "lost" and killed)', async () => {
    const early = await h.engine.containers.create(NS, { id: '', name: 'early', spec: spec() });
    await h.engine.tasks.startTask(NS, 'early', '');
    const late = await h.engine.containers.create(NS, { id: '', name: 'late', spec: spec() });
    // The agent answers the listing after `late` has started: the list holds `early` only.
    const answer = h.agent.script.pauseAfterNext('listTasks');
    const reconciling = h.engine.reconcileNode('node-1');
    await eventually(() => h.agent.script.calls.includes('listTasks'), 'the listing');
    await h.engine.tasks.startTask(NS, 'late', '');
    answer();
    const report = await reconciling;
    expect(report.lost).toEqual([]);
    expect(report.adopted).toEqual([early.id]);
    expect(h.engine.containers.get(NS, 'late').phase).toBe('running');
    expect(h.agent.tasks.get(late.id)?.status).toBe('running');
    expect(h.agent.kills).toEqual([]);
  });

  it('leaves a create in progress alone (the agent registering while a `run` prepares its snapshot)', async () => {
    const answer = h.snapshots.script.pauseAfterNext('prepare');
    const creating = h.engine.containers.create(NS, { id: '', name: 'fresh', spec: spec() });
    await eventually(() => h.snapshots.script.calls.some((c) => c.startsWith('prepare ')), 'the snapshot prepare');
    expect(h.engine.runtime.store.all().map((r) => r.phase)).toEqual(['creating']);
    const reconciling = h.engine.reconcileNode('node-1');
    await settle();
    answer();
    const created = await creating;
    const report = await reconciling;
    expect(report.undone).toEqual([]);
    expect(h.engine.containers.get(NS, 'fresh')).toMatchObject({ id: created.id, phase: 'created' });
    expect(h.snapshots.snapshots.has(created.id)).toBe(true);
  });
});

describe('snapshots a power loss left without a record', () => {
  const CONTAINER = 'org.berth.container.id';
  const OWNER = 'org.berth.tasks.node';

  it('are removed at the next start; a recorded container’s, another tasks service’s and unlabelled ones stay', async () => {
    const kept = await h.engine.containers.create(NS, { id: '', name: 'kept', spec: spec() });
    expect(h.snapshots.snapshots.get(kept.id)?.labels).toEqual({ [CONTAINER]: kept.id, [OWNER]: 'node-1' });
    // The store took the record back (its commit was not on disk), the snapshotter kept the snapshot.
    const lost = await h.engine.containers.create(NS, { id: '', name: 'lost', spec: spec() });
    h.engine.runtime.store.db.prepare('DELETE FROM containers WHERE id = ?').run(lost.id);
    const stranger = 'f'.repeat(64);
    h.snapshots.snapshots.set('other-owner', { parent: '', labels: { [CONTAINER]: stranger, [OWNER]: 'node-2' }, dir: '/nonexistent/other' });
    h.snapshots.snapshots.set('unlabelled', { parent: '', labels: {}, dir: '/nonexistent/unlabelled' });

    // Only at a service start, not when an agent registers.
    expect((await h.engine.reconcileNode('node-1')).snapshotsRemoved).toEqual([]);
    expect(h.snapshots.snapshots.has(lost.id)).toBe(true);

    const report = await h.restart();
    expect(report.snapshotsRemoved).toEqual([lost.id]);
    expect(report.failed).toEqual([]);
    expect([...h.snapshots.snapshots.keys()].sort()).toEqual([kept.id, 'other-owner', 'unlabelled'].sort());
    expect(h.engine.containers.get(NS, 'kept').id).toBe(kept.id);
  });

  it('a snapshots service that cannot answer fails that step alone, and the next start does it', async () => {
    const lost = await h.engine.containers.create(NS, { id: '', name: 'lost2', spec: spec() });
    h.engine.runtime.store.db.prepare('DELETE FROM containers WHERE id = ?').run(lost.id);
    h.snapshots.script.failNext('list', grpcError(status.UNAVAILABLE, 'connect ECONNREFUSED snapshots'));
    const report = await h.restart();
    expect(report.failed).toEqual([{ id: 'snapshots', error: expect.stringContaining('ECONNREFUSED') }]);
    expect(report.deferred).toBeUndefined();
    expect(h.snapshots.snapshots.has(lost.id)).toBe(true);
    expect((await h.restart()).snapshotsRemoved).toEqual([lost.id]);
  });
});

// Volumes against fake neighbours: records and directories, namespaces, the
// in-use refusal, prune rules, anonymous volumes and copy-up requests, a
// crash during create, and adopting directories made before volumes had records.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tasks } from '@berth/api';
import { Harness } from './fakes.js';

const NS = 'default';
let h: Harness;

beforeEach(async () => {
  h = new Harness();
  await h.engine.start();
});
afterEach(async () => {
  await h.close();
});

const volumeMount = (source: string, target: string, options: string[] = []) => ({ type: 'volume', source, target, options });

function spec(mounts: ReturnType<typeof volumeMount>[]): tasks.ContainerSpec {
  return { ...tasks.ContainerSpec.fromPartial({ image: 'busybox' }), mounts };
}

async function failure(p: Promise<unknown> | (() => unknown)): Promise<{ code: number; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return { code: (err as { code: number }).code, message: (err as Error).message };
  }
  throw new Error('expected a failure');
}

describe('volume records', () => {
  it('creates named and generated volumes with labels; creating again returns the same one', async () => {
    const v = await h.engine.volumes.create(NS, 'data', { tier: 'db' });
    expect(v.mountpoint).toBe(join(h.stateDir, 'volumes/data/_data'));
    expect(existsSync(v.mountpoint)).toBe(true);
    expect(v.volume).toMatchObject({ name: 'data', labels: { tier: 'db' }, anonymous: false });
    expect(v.size).toBe(-1);
    const again = await h.engine.volumes.create(NS, 'data', { other: 'x' });
    expect(again.volume.labels).toEqual({ tier: 'db' });
    const generated = await h.engine.volumes.create(NS, '', {});
    expect(generated.volume.name).toMatch(/^[0-9a-f]{64}$/);
    expect(generated.volume.anonymous).toBe(true);
    expect((await failure(h.engine.volumes.create(NS, '-bad', {}))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('keeps namespaces apart, on disk too', async () => {
    const a = await h.engine.volumes.create(NS, 'shared', {});
    const b = await h.engine.volumes.create('other', 'shared', {});
    expect(b.mountpoint).not.toBe(a.mountpoint);
    writeFileSync(join(a.mountpoint, 'f'), 'default');
    expect((await h.engine.volumes.list('other', [], false)).map((v) => v.volume.name)).toEqual(['shared']);
    h.engine.volumes.remove('other', 'shared', false);
    expect(readFileSync(join(a.mountpoint, 'f'), 'utf8')).toBe('default');
    expect((await failure(h.engine.volumes.get('other', 'shared', false))).code).toBe(status.NOT_FOUND);
  });

  it('lists with name, label and dangling filters, and measures sizes on request', async () => {
    await h.engine.volumes.create(NS, 'alpha', { app: 'web' });
    await h.engine.volumes.create(NS, 'beta', { app: 'db' });
    await h.engine.containers.create(NS, { id: '', name: 'user', spec: spec([volumeMount('beta', '/data')]) });
    const names = async (filters: string[]) => (await h.engine.volumes.list(NS, filters, false)).map((v) => v.volume.name);
    expect(await names([])).toEqual(['alpha', 'beta']);
    expect(await names(['name=alp'])).toEqual(['alpha']);
    expect(await names(['label=app=db'])).toEqual(['beta']);
    expect(await names(['label=app'])).toEqual(['alpha', 'beta']);
    expect(await names(['dangling=true'])).toEqual(['alpha']);
    expect(await names(['dangling=false'])).toEqual(['beta']);
    expect((await failure(h.engine.volumes.list(NS, ['driver=local'], false))).code).toBe(status.INVALID_ARGUMENT);
    const alpha = await h.engine.volumes.get(NS, 'alpha', false);
    writeFileSync(join(alpha.mountpoint, 'blob'), Buffer.alloc(1234));
    expect((await h.engine.volumes.get(NS, 'alpha', true)).size).toBe(1234);
  });
});

describe('volumes and containers', () => {
  it('a container mounting an unknown name creates it; removal is refused while any container uses it, naming it', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'app', spec: spec([volumeMount('cache', '/cache')]) });
    const v = await h.engine.volumes.get(NS, 'cache', false);
    expect(v.volume.anonymous).toBe(false);
    expect(v.usedBy).toEqual([c.id]);
    const refused = await failure(() => h.engine.volumes.remove(NS, 'cache', true));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.message).toContain(c.id);
    // A stopped container still uses it, as in Docker; removing the container frees it but keeps a named volume.
    await h.engine.containers.remove(NS, 'app', { force: true, keepLogs: false });
    expect(existsSync(v.mountpoint)).toBe(true);
    expect(h.engine.volumes.remove(NS, 'cache', false)).toBe(true);
    expect(existsSync(v.mountpoint)).toBe(false);
    expect((await failure(() => h.engine.volumes.remove(NS, 'cache', false))).code).toBe(status.NOT_FOUND);
    expect(h.engine.volumes.remove(NS, 'cache', true)).toBe(false);
  });

  it('anonymous volumes get 64-hex names, are recorded as anonymous and go with their container', async () => {
    const c = await h.engine.containers.create(NS, { id: '', name: 'anon', spec: spec([volumeMount('', '/scratch')]) });
    const name = c.spec.mounts[0]!.source;
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    const v = await h.engine.volumes.get(NS, name, false);
    expect(v.volume.anonymous).toBe(true);
    await h.engine.containers.remove(NS, 'anon', { force: true, keepLogs: false });
    expect((await h.engine.volumes.list(NS, [], false)).map((x) => x.volume.name)).toEqual([]);
    expect(existsSync(v.mountpoint)).toBe(false);
  });

  it('asks the agent to fill each volume mount without nocopy from the image, at the bound directory', async () => {
    h.agent.imageFiles.set('/etc', { hostname: 'image\n' });
    const c = await h.engine.containers.create(NS, {
      id: '',
      name: 'copy',
      spec: spec([volumeMount('etcvol', '/etc'), volumeMount('plain', '/plain', ['nocopy'])]),
    });
    await h.engine.tasks.startTask(NS, 'copy', '');
    const etc = await h.engine.volumes.get(NS, 'etcvol', false);
    expect(h.agent.tasks.get(c.id)?.copyUps).toEqual([{ path: '/etc', target: etc.mountpoint }]);
    expect(readFileSync(join(etc.mountpoint, 'hostname'), 'utf8')).toBe('image\n');
  });
});

describe('a crash in the middle of create', () => {
  it('the restart removes the half-made container\'s anonymous volumes and keeps named ones', async () => {
    h.snapshots.script.hangAfterNext('prepare');
    void h.engine.containers.create(NS, { id: '', name: 'half', spec: spec([volumeMount('', '/a'), volumeMount('kept', '/k')]) });
    await new Promise((r) => setTimeout(r, 20));
    const [half] = h.engine.runtime.store.all();
    const anon = half!.spec.mounts[0]!.source;
    expect((await h.engine.volumes.get(NS, anon, false)).volume.anonymous).toBe(true);
    const report = await h.restart();
    expect(report.undone).toEqual([half!.id]);
    expect((await h.engine.volumes.list(NS, [], false)).map((v) => v.volume.name)).toEqual(['kept']);
  });
});

describe('prune', () => {
  it('removes unused anonymous volumes, named ones only with all; never used ones; reports bytes', async () => {
    await h.engine.volumes.create(NS, 'named', { keep: 'no' });
    const used = await h.engine.volumes.create(NS, 'used', {});
    await h.engine.containers.create(NS, { id: '', name: 'user', spec: spec([volumeMount('used', '/u')]) });
    // An anonymous volume left behind: its container record is gone but the volume stayed.
    const c = await h.engine.containers.create(NS, { id: '', name: 'gone', spec: spec([volumeMount('', '/x')]) });
    const anon = c.spec.mounts[0]!.source;
    h.engine.runtime.store.remove(c.id);
    writeFileSync(join(h.engine.runtime.volumePath(NS, anon), 'data'), Buffer.alloc(100));
    await h.engine.volumes.create('other', 'named', {});

    expect(await h.engine.volumes.prune(NS, false, [])).toEqual({ removed: [anon], reclaimedBytes: 100 });
    expect((await failure(h.engine.volumes.prune(NS, true, ['dangling=true']))).code).toBe(status.INVALID_ARGUMENT);
    expect(await h.engine.volumes.prune(NS, true, ['label=keep=yes'])).toEqual({ removed: [], reclaimedBytes: 0 });
    expect(await h.engine.volumes.prune(NS, true, [])).toEqual({ removed: ['named'], reclaimedBytes: 0 });
    expect(existsSync(used.mountpoint)).toBe(true);
    expect((await h.engine.volumes.list('other', [], false)).map((v) => v.volume.name)).toEqual(['named']);
  });
});

describe('volumes made before records', () => {
  it('are adopted at start into the default namespace, anonymous when named <container id>-<n>', async () => {
    const legacyAnon = `${'a'.repeat(64)}-0`;
    for (const name of ['olddata', legacyAnon]) mkdirSync(join(h.stateDir, 'volumes', name, '_data'), { recursive: true });
    await h.restart();
    const list = await h.engine.volumes.list(NS, [], false);
    expect(list.map((v) => [v.volume.name, v.volume.anonymous])).toEqual([
      [legacyAnon, true],
      ['olddata', false],
    ]);
    expect(list[1]!.mountpoint).toBe(join(h.stateDir, 'volumes/olddata/_data'));
  });
});

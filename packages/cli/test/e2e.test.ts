// End to end: the built berth binary against the real stack (nats-server and
// the five services on a private state root, runtime dir and NATS port) and a
// local registry holding the busybox test image. Containers run on runc.
//
// The stack is started with `berth system up`, i.e. @berth/stack's systemUp
// in a plain Node process: loaded through vitest, systemUp cannot find the
// services (vite does not implement import.meta.resolve).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, freePort, makeStateRoot, pushImage, startRegistry, type BuiltImage, type StateRoot, type TestRegistry } from '@berth/testkit';
import { privateNetwork } from '@berth/testkit';
import { cli, HEX64, json } from './cli-harness.js';
import { assertBuilt } from './built-bin.js';
// not exported by @berth/testkit, whose own registries use it
import { makeTestCertificates } from '../../testkit/src/registry/tls.js';

let state: StateRoot;
let natsPort: number;
let registry: TestRegistry;
let busybox: BuiltImage;
let IMAGE: string;
/** A CA file in NODE_EXTRA_CA_CERTS, which the #! line keeps from berth's Node and berth gives back to the services. */
let extraCaCerts: string;

const network = privateNetwork('bce');

/** Runs the built CLI against this suite's stack; stdin is closed unless input is given. */
const berthCli = cli(() => ({
  BERTH_ROOT: state.root,
  BERTH_RUNTIME_DIR: state.runtimeDir,
  BERTH_NATS_PORT: String(natsPort),
  BERTH_NODE: 'cli-e2e',
  DOCKER_CONFIG: join(state.root, 'docker-config'),
  NODE_EXTRA_CA_CERTS: extraCaCerts,
  ...network.env,
}));
const berth = (args: string[], input?: string) => berthCli(args, input === undefined ? {} : { input });

interface PsRow {
  ID: string;
  Names: string;
  Image: string;
  Command: string;
  State: string;
  Status: string;
  ExitCode: number | null;
  Labels: Record<string, string>;
}

beforeAll(async () => {
  assertBuilt();
  state = await makeStateRoot('berth-cli-e2e');
  natsPort = await freePort();
  mkdirSync(join(state.root, 'ca'));
  extraCaCerts = (await makeTestCertificates(join(state.root, 'ca'))).caFile;
  registry = await startRegistry();
  busybox = await busyboxImage();
  await pushImage(busybox.layoutDir, 'library/busybox:latest', { registry });
  IMAGE = `${registry.host}/library/busybox:latest`;
  const up = await berth(['system', 'up']);
  if (up.code !== 0) {
    throw new Error(`berth system up failed (exit ${up.code}); service logs are in ${state.root}/logs\n${up.stdout}${up.stderr}`);
  }
});

afterAll(async () => {
  // containers outlive the services: remove them while the services still run
  if (state && natsPort) {
    const ids = await berth(['ps', '-aq', '--no-trunc']).catch(() => undefined);
    const list = ids?.code === 0 ? ids.stdout.split('\n').filter(Boolean) : [];
    if (list.length > 0) await berth(['rm', '-f', ...list]).catch(() => undefined);
    await berth(['system', 'down']).catch(() => undefined);
  }
  network.cleanup();
  await registry?.stop();
  await state?.cleanup();
});

describe('berth against the real stack', () => {
  it('version: the client and every running service', async () => {
    const r = await berth(['version', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const v = json<{ client: { version: string }; server: { components: { name: string; running: boolean; version: string }[] } }>(r);
    expect(v.client.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(v.server.components.map((c) => c.name).sort()).toEqual(['agent', 'images', 'networking', 'snapshots', 'tasks']);
    for (const c of v.server.components) {
      expect(c.running, c.name).toBe(true);
      expect(c.version, c.name).toMatch(/^\d+\.\d+\.\d+/);
    }
    const text = await berth(['version']);
    expect(text.stdout).toMatch(/^Client:\n Version: +\d+\.\d+\.\d+/);
    expect(text.stdout).toMatch(/\n images: +\d+\.\d+\.\d+ \(pid \d+, node cli-e2e/);
  });

  it('system status --format json: NATS, five healthy services and the CLI host', async () => {
    const r = await berth(['system', 'status', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = json<{ name: string; health: string; pid: number; address: string }[]>(r);
    expect(list.map((c) => c.name)).toEqual(['nats', 'snapshots', 'images', 'networking', 'agent', 'tasks', 'cli-host']);
    for (const c of list) {
      expect(c.health, c.name).toBe('SERVING');
      expect(c.pid, c.name).toBeGreaterThan(0);
    }
  });

  it('system up hands NODE_EXTRA_CA_CERTS to the services and the CLI host', async () => {
    const r = await berth(['system', 'status', '--format', 'json']);
    const list = json<{ name: string; pid: number }[]>(r).filter((c) => c.name !== 'nats');
    expect(list).toHaveLength(6);
    for (const c of list) {
      const environ = readFileSync(`/proc/${c.pid}/environ`, 'utf8').split('\0');
      expect(environ, c.name).toContain(`NODE_EXTRA_CA_CERTS=${extraCaCerts}`);
      expect(environ.filter((v) => v.startsWith('BERTH_NODE_EXTRA_CA_CERTS=')), c.name).toEqual([]);
    }
  });

  it('pull from the local registry: plain progress lines when not on a terminal', async () => {
    const r = await berth(['pull', IMAGE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('latest: Pulling from library/busybox');
    const layer = busybox.layers[0]!.digest.replace('sha256:', '').slice(0, 12);
    expect(lines).toContain(`${layer}: Pull complete`);
    expect(lines).toContain(`Digest: ${busybox.manifestDigest}`);
    expect(lines).toContain(`Status: Downloaded newer image for ${IMAGE}`);
    expect(lines.at(-1)).toBe(IMAGE);
    // a second pull finds it up to date; -q prints only the name
    const again = await berth(['pull', '-q', IMAGE]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`${IMAGE}\n`);
  });

  it('events: the pull, replayed from the stream with --since/--until', async () => {
    const r = await berth(['events', '--since', '1h', '--until', '0s', '--filter', 'type=image', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { Type: string; ID: string; Node: string });
    expect(events.map((e) => e.Type)).toContain('images.pull.finished');
    expect(events.find((e) => e.Type === 'images.pull.finished')).toMatchObject({ ID: IMAGE, Node: 'cli-e2e' });
    expect(events.every((e) => e.Type.startsWith('images.'))).toBe(true);
  });

  it('images: table, -q and JSON', async () => {
    const table = await berth(['images']);
    expect(table.code, table.stderr).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(rest).toEqual([]);
    expect(row).toMatch(new RegExp(`^${registry.host}/library/busybox\\s+latest\\s+${busybox.configDigest.slice(7, 19)}\\s+\\S.*ago\\s+[\\d.]+[kM]?B$`));
    expect(row!.indexOf('latest')).toBe(header!.indexOf('TAG'));

    const quiet = await berth(['images', '-q']);
    expect(quiet.stdout).toBe(`${busybox.configDigest.slice(7, 19)}\n`);

    const list = json<Record<string, unknown>[]>(await berth(['images', '--format', 'json']));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      Name: IMAGE,
      Repository: `${registry.host}/library/busybox`,
      Tag: 'latest',
      ID: busybox.configDigest,
      Digest: busybox.manifestDigest,
    });
    expect(list[0]!['SizeBytes']).toBeGreaterThan(0);

    const tpl = await berth(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(tpl.stdout).toBe(`${IMAGE}\n`);
  });

  it('run --rm IMAGE echo hello: the output, exit 0, and nothing left behind', async () => {
    const r = await berth(['run', '--rm', '--network', 'none', IMAGE, 'echo', 'hello']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(json<PsRow[]>(await berth(['ps', '-a', '--format', 'json']))).toEqual([]);
  });

  it('run exits with the container\'s exit code; stdout and stderr stay apart', async () => {
    const r = await berth(['run', '--name', 'e3', '--network', 'none', IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('run of a command that does not exist exits 127 with the reason, and --rm still cleans up', async () => {
    const r = await berth(['run', '--rm', '--network', 'none', IMAGE, 'no-such-command-here']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^berth: .*no-such-command-here/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const names = json<PsRow[]>(await berth(['ps', '-a', '--format', 'json'])).map((c) => c.Names);
    expect(names).toEqual(['e3']);
  });

  it('ps -a --format json: the shape of an exited container; ps alone hides it', async () => {
    const list = json<PsRow[]>(await berth(['ps', '-a', '--format', 'json']));
    expect(list).toHaveLength(1);
    const c = list[0]!;
    expect(c.ID).toMatch(HEX64);
    expect(c).toMatchObject({
      Names: 'e3',
      Image: IMAGE,
      Command: 'sh -c echo out; echo err >&2; exit 3',
      State: 'exited',
      ExitCode: 3,
    });
    expect(c.Status).toMatch(/^Exited \(3\) .* ago$/);
    const running = await berth(['ps']);
    expect(running.stdout).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n$/);
    expect((await berth(['ps', '-aq'])).stdout).toBe(`${c.ID.slice(0, 12)}\n`);
  });

  it('logs: stdout and stderr as written, -t with timestamps, --tail', async () => {
    const r = await berth(['logs', 'e3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    const t = await berth(['logs', '-t', 'e3']);
    expect(t.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\n$/);
    const tail = await berth(['logs', '--tail', '0', 'e3']);
    expect(tail.stdout + tail.stderr).toBe('');
  });

  it('a taken name is refused with exit 125 and says so', async () => {
    const r = await berth(['create', '--name', 'e3', '--network', 'none', IMAGE, 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('the container name "e3" is already in use');
  });

  it('run flags: environment, env file, working dir, user, hostname, label, entrypoint', async () => {
    const envFile = join(state.root, 'app.env');
    writeFileSync(envFile, '# test\nFROM_FILE=yes\n');
    const r = await berth([
      'run', '--rm', '--network', 'none',
      '-e', 'GREETING=hi', '--env-file', envFile, '-w', '/tmp', '-u', '1000:1000', '--hostname', 'box',
      '--entrypoint', 'sh', IMAGE, '-c', 'echo "$GREETING $FROM_FILE $(pwd) $(id -u):$(id -g) $(hostname)"',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi yes /tmp 1000:1000 box\n');
  });

  it('run -u name:group: the agent resolves the names in the image\'s /etc/passwd and /etc/group', async () => {
    // The test image's passwd has app (1000:1000, home /home/app); its group file lists app in users (100).
    const r = await berth(['run', '--rm', '--network', 'none', '-u', 'app:users', IMAGE, 'sh', '-c', 'echo "$(id -u):$(id -g) $(id -G) $HOME"']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1000:100 100 /home/app\n');
    // A name alone brings the groups that list it.
    const app = await berth(['run', '--rm', '--network', 'none', '-u', 'app', IMAGE, 'sh', '-c', 'echo "$(id -u):$(id -g) $(id -G)"']);
    expect(app.stdout, app.stderr).toBe('1000:1000 1000 100\n');
  });

  it('run -u with an unknown user fails with a clear error and --rm leaves nothing', async () => {
    const r = await berth(['run', '--rm', '--network', 'none', '-u', 'ghost:users', IMAGE, 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^berth: .*cannot run as user "ghost:users": unable to find user ghost: no matching entries in passwd file\n$/);
    const names = json<PsRow[]>(await berth(['ps', '-a', '--format', 'json'])).map((c) => c.Names);
    expect(names).toEqual(['e3']);
  });

  it('run flags: bind mount, read-only root, stdin with -i', async () => {
    const dir = join(state.root, 'shared');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'note.txt'), 'from the host\n');
    const bind = await berth(['run', '--rm', '--network', 'none', '-v', `${dir}:/data:ro`, IMAGE, 'cat', '/data/note.txt']);
    expect(bind.code, bind.stderr).toBe(0);
    expect(bind.stdout).toBe('from the host\n');

    const ro = await berth(['run', '--rm', '--network', 'none', '--read-only', IMAGE, 'touch', '/x']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain('Read-only file system');

    const cat = await berth(['run', '--rm', '-i', '--network', 'none', IMAGE, 'cat'], 'piped in\n');
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('piped in\n');
  });

  it('run -d, then ps, logs, stop, wait, inspect with --memory and --label', async () => {
    try {
      await detachedLifecycle();
    } finally {
      await berth(['rm', '-f', 'bg']); // whatever happened above, later tests start without it
    }
  });

  async function detachedLifecycle() {
    const d = await berth([
      'run', '-d', '--name', 'bg', '--network', 'none', '--memory', '64m', '--label', 'suite=e2e',
      IMAGE, 'sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 0.1; done',
    ]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.trim()).toMatch(HEX64);
    const running = json<PsRow[]>(await berth(['ps', '--filter', 'label=suite=e2e', '--format', 'json']));
    expect(running.map((c) => [c.Names, c.State])).toEqual([['bg', 'running']]);
    const inspected = json<{ runtimeSpec: { linux: { resources: { memory: { limit: number } } } }; spec: { labels: Record<string, string> } }[]>(
      await berth(['inspect', 'bg']),
    );
    expect(inspected[0]!.runtimeSpec.linux.resources.memory.limit).toBe(64 * 1024 * 1024);
    expect(inspected[0]!.spec.labels).toEqual({ suite: 'e2e' });
    expect((await berth(['inspect', '-f', '{{.name}}', 'bg'])).stdout).toBe('bg\n');

    const stop = await berth(['stop', 'bg']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe('bg\n');
    const wait = await berth(['wait', 'bg']);
    expect(wait.stdout).toBe('0\n');
    expect((await berth(['logs', 'bg'])).stdout).toBe('started\n');
    const rm = await berth(['rm', 'bg']);
    expect(rm.code, rm.stderr).toBe(0);
  }

  it('rm removes a container', async () => {
    const r = await berth(['rm', 'e3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('e3\n');
    expect(json<PsRow[]>(await berth(['ps', '-a', '--format', 'json']))).toEqual([]);
  });

  it('an unknown container is exit 125 with a clear message', async () => {
    for (const args of [['rm', 'nope'], ['logs', 'nope'], ['stop', 'nope'], ['inspect', '--type', 'container', 'nope']]) {
      const r = await berth(args);
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr, args.join(' ')).toMatch(/No such (container|object): nope/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('an unknown image names the reference as resolved', async () => {
    const missing = `${registry.host}/library/nope`;
    const run = await berth(['run', '--rm', '--network', 'none', missing, 'true']);
    expect(run.code).toBe(125);
    expect(run.stderr).toContain(`image ${missing}:latest not found`);
    expect(run.stderr).not.toMatch(/\n\s+at /);

    const never = await berth(['run', '--pull', 'never', 'nope']);
    expect(never.code).toBe(125);
    expect(never.stderr).toContain('No such image: docker.io/library/nope:latest');

    const inspect = await berth(['image', 'inspect', 'nope']);
    expect(inspect.code).toBe(125);
    expect(inspect.stderr).toContain('No such image: docker.io/library/nope:latest');
  });

  it('tag and push to the registry, save and load back', async () => {
    const pushed = `${registry.host}/tools/busybox:1`;
    expect((await berth(['tag', IMAGE, pushed])).code).toBe(0);
    const push = await berth(['push', pushed]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toContain(`The push refers to repository [${registry.host}/tools/busybox]`);
    expect(push.stdout.trimEnd().split('\n').at(-1)).toBe(`1: digest: ${busybox.manifestDigest} size: ${busybox.manifestSize}`);
    expect((await berth(['rmi', pushed])).code).toBe(0);

    const archive = join(state.root, 'busybox.tar');
    const save = await berth(['save', '-o', archive, IMAGE]);
    expect(save.code, save.stderr).toBe(0);
    expect((await berth(['rmi', IMAGE])).code).toBe(0);
    const load = await berth(['load', '-i', archive]);
    expect(load.code, load.stderr).toBe(0);
    expect(load.stdout).toBe(`Loaded image: ${IMAGE}\n`);
    const list = json<{ Name: string; Digest: string }[]>(await berth(['images', '--format', 'json']));
    expect(list.map((i) => [i.Name, i.Digest])).toEqual([[IMAGE, busybox.manifestDigest]]);
  });

  it('network create, ls, inspect, rm', async () => {
    const name = `clie2e${process.pid}`;
    const created = await berth(['network', 'create', '--subnet', '10.213.77.0/24', '--label', 'suite=e2e', name]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(HEX64);
    try {
      const list = json<{ Name: string; Subnet: string; Driver: string; Labels: Record<string, string> }[]>(
        await berth(['network', 'ls', '--filter', `name=${name}`, '--format', 'json']),
      );
      expect(list).toEqual([expect.objectContaining({ Name: name, Subnet: '10.213.77.0/24', Driver: 'bridge', Labels: { suite: 'e2e' } })]);
      const inspected = json<{ name: string; gateway: string; conflist: { plugins: unknown[] } }[]>(await berth(['network', 'inspect', name]));
      expect(inspected[0]).toMatchObject({ name, gateway: '10.213.77.1' });
      expect(inspected[0]!.conflist.plugins.length).toBeGreaterThan(0);
      const dup = await berth(['network', 'create', name]);
      expect(dup.code).toBe(125);
      expect(dup.stderr).toContain(`network with name ${name} already exists`);
    } finally {
      const rm = await berth(['network', 'rm', name]);
      expect(rm.code, rm.stderr).toBe(0);
    }
    const gone = await berth(['network', 'inspect', name]);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toContain(`No such network: ${name}`);
  });

  it('system info and df, node, snapshot and content listings', async () => {
    const info = json<{ namespace: string; images: number; nodes: { id: string; state: string }[]; snapshotter: { driver: string } }>(
      await berth(['system', 'info', '--format', 'json']),
    );
    expect(info.namespace).toBe('default');
    expect(info.images).toBe(1);
    expect(info.nodes).toEqual([expect.objectContaining({ id: 'cli-e2e', state: 'ready' })]);
    expect(['overlayfs', 'native']).toContain(info.snapshotter.driver);
    const df = json<{ Type: string; TotalCount: number; Size: number }[]>(await berth(['system', 'df', '--format', 'json']));
    expect(df.find((r) => r.Type === 'Images')).toMatchObject({ TotalCount: 1 });
    expect(df.find((r) => r.Type === 'Images')!.Size).toBeGreaterThan(0);
    expect((await berth(['node', 'ls', '-q'])).stdout).toBe('cli-e2e\n');
    const content = (await berth(['content', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    expect(content).toEqual(expect.arrayContaining([busybox.manifestDigest, busybox.configDigest, busybox.layers[0]!.digest]));
    const snapshots = json<{ Kind: string }[]>(await berth(['snapshot', 'ls', '--format', 'json']));
    expect(snapshots.some((sn) => sn.Kind === 'committed')).toBe(true);
  });

  it('rmi removes the image', async () => {
    const r = await berth(['rmi', IMAGE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Untagged: ${IMAGE}\nDeleted: ${busybox.manifestDigest}\n`);
    expect(json<unknown[]>(await berth(['images', '--format', 'json']))).toEqual([]);
    // its unpacked layer went with it (no container is left to hold it)
    expect(json<unknown[]>(await berth(['snapshot', 'ls', '--format', 'json']))).toEqual([]);
  });
});

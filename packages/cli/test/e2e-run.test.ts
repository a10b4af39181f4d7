// End to end: `berth run` and the container commands of the built binary
// against the real stack (nats-server and the five services on this suite's
// own state root, runtime dir, NATS port, default bridge, subnets and cgroup
// parent), containers on runc and CNI, images from local registries (one
// anonymous, one with basic auth). Containers and networks are shared
// between checks where that stays readable; afterAll removes every
// container, network, bridge, netns and iptables rule the suite made, also
// when a test failed.
//
// The stack is started with `berth system up` in a plain Node process:
// loaded through vitest, systemUp cannot find the services.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX_CONFIG,
  busyboxImage,
  busyboxLayerEntries,
  buildImageCached,
  freePort,
  makeStateRoot,
  pickTestSubnet,
  iptablesLinesMentioning,
  purgeIptablesRules,
  pushImage,
  startRegistry,
  uniqueName,
  type BuiltImage,
  type StateRoot,
  type TestRegistry,
} from '@berth/testkit';
import { cli, eventually, HEX64, json, said, type Result } from './cli-harness.js';
import { assertBuilt } from './built-bin.js';

const NODE = 'cli-run-e2e';
const OTHER_NS = 'e2e-other';
const HOST_ARCH = process.arch === 'x64' ? 'amd64' : process.arch;
const OTHER_ARCH = HOST_ARCH === 'amd64' ? 'arm64' : 'amd64';

let state: StateRoot;
let natsPort: number;
let registry: TestRegistry;
let authRegistry: TestRegistry;
let busybox: BuiltImage;
let web: BuiltImage;
/** Busybox, pulled by the first `run` of the suite. */
let IMAGE: string;
/** Busybox with EXPOSE 80/tcp, for -P. */
let WEB_IMAGE: string;
/** Busybox behind basic auth. */
let AUTH_IMAGE: string;

// this suite's names, so nothing here can clash with another suite or the host's berth
const defaultBridge = uniqueName('bcr');
const userBridge = uniqueName('bcu');
const connectBridge = uniqueName('bcc');
const defaultSubnet = pickTestSubnet();
const userSubnet = otherSubnet([defaultSubnet]);
const connectSubnet = otherSubnet([defaultSubnet, userSubnet]);
const userNet = uniqueName('appnet', 30);
const connectNet = uniqueName('sidenet', 30);
const cgroupParent = `/${uniqueName('berth-clirun', 30)}`;
/** The agent names a container's netns <prefix><container id>; its own prefix keeps other stacks' netns out of this one's reconcile. */
const netnsPrefix = `${uniqueName('bcrns', 20)}-`;

function otherSubnet(taken: string[]): string {
  for (;;) {
    const s = pickTestSubnet();
    if (!taken.includes(s)) return s;
  }
}

const prefix24 = (cidr: string) => cidr.split('.').slice(0, 3).join('.') + '.';

const berth = cli(() => ({
  BERTH_ROOT: state.root,
  BERTH_RUNTIME_DIR: state.runtimeDir,
  BERTH_NATS_PORT: String(natsPort),
  BERTH_NODE: NODE,
  DOCKER_CONFIG: join(state.root, 'docker-config'),
  // service settings (systemUp passes its environment on to every service)
  BERTH_DEFAULT_NETWORK_BRIDGE: defaultBridge,
  BERTH_DEFAULT_NETWORK_SUBNET: defaultSubnet,
  BERTH_TASKS_CGROUP_PARENT: cgroupParent,
  BERTH_NETNS_PREFIX: netnsPrefix,
}));

/** `berth ARGS` that must succeed; its stdout. */
async function ok(args: string[], input?: string): Promise<string> {
  const r = await berth(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed: ${said(r)}`);
  return r.stdout;
}

/** Every container id the suite created, for the last-resort iptables cleanup. */
const containerIds = new Set<string>();

/** `berth run -d ARGS`: the new container's id. */
async function detached(args: string[]): Promise<string> {
  const id = (await ok(['run', '-d', ...args])).trim();
  expect(id).toMatch(HEX64);
  containerIds.add(id);
  return id;
}

interface Inspected {
  id: string;
  name: string;
  status: {
    state: string;
    pid?: number;
    restartCount?: number;
    exitStatus?: { exitCode?: number };
    ports?: { hostIp: string; hostPort: number; containerPort: number; protocol: string }[];
    addresses?: { network: string; address: string; gateway: string }[];
  };
  runtimeSpec: { linux: { resources?: { cpu?: { quota?: number; period?: number }; pids?: { limit?: number } } } };
}

async function inspect(ref: string, ns?: string): Promise<Inspected> {
  const r = await berth([...(ns ? ['-n', ns] : []), 'inspect', '--type', 'container', ref]);
  expect(r.code, said(r)).toBe(0);
  return json<Inspected[]>(r)[0]!;
}

/** Waits until the container exists and runs. */
const running = (ref: string) =>
  eventually(`${ref} to run`, async () => {
    const r = await berth(['inspect', '--type', 'container', ref]);
    return r.code === 0 && json<Inspected[]>(r)[0]!.status.state === 'CONTAINER_STATE_RUNNING' ? true : undefined;
  });

/** The body of http://127.0.0.1:port/, retried while the server comes up. */
async function httpGet(port: number, path = '/'): Promise<string> {
  return eventually(`http://127.0.0.1:${port}${path}`, async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? await res.text() : undefined;
    } catch {
      return undefined;
    }
  });
}

/** A busybox httpd serving `text` at / on port 80. */
const httpd = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

const ipNetns = () => execFileSync('ip', ['netns', 'list']).toString();
const ipLinks = () => execFileSync('ip', ['-o', 'link']).toString();

/** CapEff of /proc/self/status. */
const capEff = (status: string) => /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];

beforeAll(async () => {
  assertBuilt();
  state = await makeStateRoot('berth-cli-run');
  natsPort = await freePort();
  [registry, authRegistry, busybox, web] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'basic' }),
    busyboxImage(),
    buildImageCached({ layers: [busyboxLayerEntries()], config: { ...BUSYBOX_CONFIG, exposedPorts: ['80/tcp'] } }, 'busybox-web'),
  ]);
  IMAGE = `${registry.host}/library/busybox:latest`;
  WEB_IMAGE = `${registry.host}/library/busybox-web:1`;
  AUTH_IMAGE = `${authRegistry.host}/private/busybox:latest`;
  await Promise.all([
    pushImage(busybox.layoutDir, 'library/busybox:latest', { registry }),
    pushImage(web.layoutDir, 'library/busybox-web:1', { registry }),
    pushImage(busybox.layoutDir, 'private/busybox:latest', { registry: authRegistry }),
  ]);
  const up = await berth(['system', 'up']);
  if (up.code !== 0) throw new Error(`berth system up failed; service logs are in ${state.root}/logs\n${said(up)}`);
});

afterAll(async () => {
  // containers outlive the services: remove them (every namespace) while the services run
  if (state && natsPort) {
    for (const ns of ['default', OTHER_NS]) {
      const ids = await berth(['-n', ns, 'ps', '-aq', '--no-trunc']).catch(() => undefined);
      const list = ids?.code === 0 ? ids.stdout.split('\n').filter(Boolean) : [];
      list.forEach((id) => containerIds.add(id));
      if (list.length > 0) await berth(['-n', ns, 'rm', '-f', ...list]).catch(() => undefined);
    }
    await berth(['network', 'rm', userNet, connectNet]).catch(() => undefined);
    await berth(['system', 'down']).catch(() => undefined);
  }
  // whatever the services could not undo
  for (const line of ipNetns().split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(netnsPrefix)) execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  }
  for (const id of containerIds) purgeIptablesRules(id);
  for (const bridge of [defaultBridge, userBridge, connectBridge]) {
    if (ipLinks().includes(` ${bridge}:`)) execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
    purgeIptablesRules(bridge);
  }
  for (const subnet of [defaultSubnet, userSubnet, connectSubnet]) purgeIptablesRules(prefix24(subnet));
  for (const controller of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified']) {
    const dir = join('/sys/fs/cgroup', controller, cgroupParent);
    try {
      if (existsSync(dir)) rmdirSync(dir);
    } catch {
      // a container's cgroup is still inside: the stack's logs say why
    }
  }
  await registry?.stop();
  await authRegistry?.stop();
  // BERTH_E2E_LOGS=DIR keeps the services' logs for a look after the run
  const keep = process.env['BERTH_E2E_LOGS'];
  if (keep && state) cpSync(join(state.root, 'logs'), join(keep, `cli-run-${Date.now()}`), { recursive: true });
  await state?.cleanup();
});

describe('images for run: pull on run, --pull, --platform, login', () => {
  it('run pulls a missing image, then runs it', async () => {
    const r = await berth(['run', '--rm', IMAGE, 'echo', 'pulled and ran']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toBe('pulled and ran\n');
    expect(r.stderr).toContain(`Unable to find image '${IMAGE}' locally`);
    expect(r.stderr).toContain(`Status: Downloaded newer image for ${IMAGE}`);
  });

  it('--pull always pulls an image it has; --pull never runs without asking the registry', async () => {
    const always = await berth(['run', '--rm', '--pull', 'always', IMAGE, 'true']);
    expect(always.code, said(always)).toBe(0);
    expect(always.stderr).toContain('latest: Pulling from library/busybox');
    expect(always.stderr).toContain(`Status: Image is up to date for ${IMAGE}`);
    const never = await berth(['run', '--rm', '--pull', 'never', IMAGE, 'true']);
    expect(never.code, said(never)).toBe(0);
    expect(never.stderr).toBe('');
  });

  it('--platform: the host\'s runs, another is refused naming both', async () => {
    const same = await berth(['run', '--rm', '--platform', `linux/${HOST_ARCH}`, IMAGE, 'echo', 'same']);
    expect(same.code, said(same)).toBe(0);
    expect(same.stdout).toBe('same\n');
    const other = await berth(['run', '--rm', '--platform', `linux/${OTHER_ARCH}`, IMAGE, 'true']);
    expect(other.code, said(other)).toBe(125);
    expect(other.stderr.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^berth: .*linux/${OTHER_ARCH}`));
    expect(other.stderr).not.toMatch(/\n\s+at /);
    expect(json<unknown[]>(await berth(['ps', '-a', '--format', 'json']))).toEqual([]);
  });

  it('login and logout against a basic-auth registry, with a pull in between', async () => {
    const denied = await berth(['pull', AUTH_IMAGE]);
    expect(denied.code, said(denied)).toBe(125);
    expect(denied.stderr).toMatch(/unauthori[sz]ed|authentication/i);

    const bad = await berth(['login', '-u', authRegistry.auth!.username, '--password-stdin', authRegistry.host], { input: 'wrong\n' });
    expect(bad.code, said(bad)).toBe(125);
    expect(bad.stderr).toContain(`login to ${authRegistry.host} failed`);

    const login = await berth(['login', '-u', authRegistry.auth!.username, '--password-stdin', authRegistry.host], {
      input: `${authRegistry.auth!.password}\n`,
    });
    expect(login.code, said(login)).toBe(0);
    expect(login.stdout).toBe('Login Succeeded\n');
    const config = JSON.parse(readFileSync(join(state.root, 'docker-config', 'config.json'), 'utf8')) as { auths: Record<string, unknown> };
    expect(Object.keys(config.auths)).toEqual([authRegistry.host]);

    const pull = await berth(['pull', '-q', AUTH_IMAGE]);
    expect(pull.code, said(pull)).toBe(0);
    expect(pull.stdout).toBe(`${AUTH_IMAGE}\n`);
    expect(await ok(['run', '--rm', '--pull', 'never', AUTH_IMAGE, 'echo', 'private'])).toBe('private\n');

    const logout = await berth(['logout', authRegistry.host]);
    expect(logout.code, said(logout)).toBe(0);
    expect(logout.stdout).toBe(`Removing login credentials for ${authRegistry.host}\n`);
    await ok(['rmi', AUTH_IMAGE]);
    const again = await berth(['pull', AUTH_IMAGE]);
    expect(again.code, said(again)).toBe(125);
  });
});

describe('networking', () => {
  it('run on the default bridge network: an address from its subnet, the gateway as default route', async () => {
    const out = await ok(['run', '--rm', IMAGE, 'sh', '-c', 'ip -o -4 addr show eth0; ip route show default']);
    expect(out).toMatch(new RegExp(`inet ${prefix24(defaultSubnet).replace(/\./g, '\\.')}\\d+/24`));
    expect(out).toContain(`default via ${prefix24(defaultSubnet)}1`);
    const bridge = json<{ name: string; interfaceName?: string; subnet?: string }[]>(await berth(['network', 'inspect', 'bridge']))[0]!;
    expect(bridge).toMatchObject({ name: 'bridge', subnet: defaultSubnet });
    expect(ipLinks()).toContain(` ${defaultBridge}:`);
  });

  it('-p 127.0.0.1:PORT:80 reaches busybox httpd from the host; rm takes the netns and veth away', async () => {
    const port = await freePort();
    const id = await detached(['--name', 'pub', '-p', `127.0.0.1:${port}:80`, IMAGE, ...httpd('published')]);
    expect(await httpGet(port)).toBe('published\n');
    const row = json<{ Ports: string }[]>(await berth(['ps', '--filter', 'name=pub', '--format', 'json']))[0]!;
    expect(row.Ports).toBe(`127.0.0.1:${port}->80/tcp`);

    // the host end of the container's veth: the interface eth0 is paired with
    const peerIndex = (await ok(['exec', 'pub', 'cat', '/sys/class/net/eth0/iflink'])).trim();
    const veth = new RegExp(`^${peerIndex}: (veth[^@:]+)`, 'm').exec(ipLinks())?.[1];
    expect(veth, `no veth with index ${peerIndex} on the host`).toBeDefined();
    expect(ipNetns()).toContain(`${netnsPrefix}${id}`);

    await ok(['rm', '-f', 'pub']);
    expect(ipNetns()).not.toContain(`${netnsPrefix}${id}`);
    expect(ipLinks()).not.toMatch(new RegExp(`^\\d+: ${veth}[@:]`, 'm'));
    await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it('-P publishes the image\'s exposed port on a free host port', async () => {
    await detached(['--name', 'pall', '-P', WEB_IMAGE, ...httpd('exposed')]);
    const ports = (await inspect('pall')).status.ports ?? [];
    expect(ports).toEqual([expect.objectContaining({ containerPort: 80, hostIp: '127.0.0.1' })]);
    expect(ports[0]!.hostPort).toBeGreaterThan(0);
    expect(await httpGet(ports[0]!.hostPort)).toBe('exposed\n');
    await ok(['rm', '-f', 'pall']);
  });

  it('a user network with --network-alias: a second container fetches the first by name and by alias', async () => {
    await ok(['network', 'create', '--subnet', userSubnet, '-o', `com.docker.network.bridge.name=${userBridge}`, userNet]);
    await detached(['--name', 'named', '--network', userNet, '--network-alias', 'alias-one', IMAGE, ...httpd('by-dns')]);
    await running('named');
    const out = await ok([
      'run', '--rm', '--network', userNet, IMAGE,
      'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://named/ && break; sleep 0.5; done; wget -qO- http://alias-one/',
    ]);
    expect(out).toBe('by-dns\nby-dns\n');
    const addr = (await inspect('named')).status.addresses ?? [];
    expect(addr).toEqual([expect.objectContaining({ network: userNet })]);
    expect(addr[0]!.address.startsWith(prefix24(userSubnet))).toBe(true);
  });

  it('network connect and disconnect change a running container\'s interfaces', async () => {
    await ok(['network', 'create', '--subnet', connectSubnet, '-o', `com.docker.network.bridge.name=${connectBridge}`, connectNet]);
    await ok(['network', 'connect', connectNet, 'named']);
    const connected = await ok(['exec', 'named', 'ip', '-o', '-4', 'addr']);
    expect(connected).toContain(`inet ${prefix24(connectSubnet)}`);
    expect((await inspect('named')).status.addresses?.map((a) => a.network).sort()).toEqual([connectNet, userNet].sort());

    await ok(['network', 'disconnect', connectNet, 'named']);
    const after = await ok(['exec', 'named', 'ip', '-o', '-4', 'addr']);
    expect(after).not.toContain(`inet ${prefix24(connectSubnet)}`);
    expect(after).toContain(`inet ${prefix24(userSubnet)}`);
  });

  it('network prune removes the unused network and keeps the one in use', async () => {
    const r = await berth(['network', 'prune', '-f']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toContain(connectNet);
    expect(r.stdout).not.toContain(userNet);
    const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
    expect(names).toContain(userNet);
    expect(names).not.toContain(connectNet);
    await ok(['rm', '-f', 'named']);
    await ok(['network', 'rm', userNet]);
    expect(ipLinks()).not.toContain(` ${userBridge}:`);
  });
});

describe('resources and privileges', () => {
  it('--cpus and --pids-limit reach the runtime spec and the container\'s cgroup', async () => {
    const id = await detached(['--name', 'limited', '--cpus', '0.5', '--pids-limit', '20', IMAGE, 'sleep', '300']);
    const spec = (await inspect('limited')).runtimeSpec.linux.resources;
    expect(spec?.cpu).toMatchObject({ quota: 50_000, period: 100_000 });
    expect(spec?.pids).toMatchObject({ limit: 20 });
    // as the kernel enforces it (cgroup v1 here: per-controller hierarchies)
    const cg = (controller: string, file: string) => readFileSync(join('/sys/fs/cgroup', controller, cgroupParent, id, file), 'utf8').trim();
    expect(cg('cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(cg('cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(cg('pids', 'pids.max')).toBe('20');
    // and a fork bomb stops at the limit
    const forks = await berth(['exec', 'limited', 'sh', '-c', 'for i in $(seq 40); do sleep 5 & done; wait']);
    expect(forks.stderr + forks.stdout).toMatch(/fork|resource temporarily unavailable|can't fork/i);
    await ok(['rm', '-f', 'limited']);
  });

  it('--cap-drop, --cap-add and --privileged set CapEff', async () => {
    const caps = async (...flags: string[]) => capEff(await ok(['run', '--rm', ...flags, IMAGE, 'cat', '/proc/self/status']));
    // five independent containers: started together
    const [plain, noRaw, admin, chownOnly, privileged] = await Promise.all([
      caps(),
      caps('--cap-drop', 'NET_RAW'),
      caps('--cap-add', 'NET_ADMIN'),
      caps('--cap-drop', 'ALL', '--cap-add', 'CHOWN'),
      caps('--privileged'),
    ]);
    const defaults = BigInt(`0x${plain}`);
    expect(defaults & (1n << 13n)).toBe(1n << 13n); // NET_RAW, a Docker default
    expect(defaults & (1n << 12n)).toBe(0n); // NET_ADMIN is not
    expect(BigInt(`0x${noRaw}`)).toBe(defaults & ~(1n << 13n));
    expect(BigInt(`0x${admin}`)).toBe(defaults | (1n << 12n));
    expect(chownOnly).toBe('0000000000000001');
    // privileged: everything this host's root holds
    expect(privileged).toBe(capEff(readFileSync('/proc/self/status', 'utf8')));
  });
});

describe('processes: restart policy, signals, init, terminal, exit codes, exec, start -a', () => {
  it('run --rm read slower than it writes: all of the output arrives, then its exit code', async () => {
    // ≈ 1 MB: the container is done (and its task torn down) while most of it is still on its way.
    const lines = 20_000;
    const line = (i: number) => `line ${i} 0123456789012345678901234567890123456789`;
    const script = `i=0; while [ $i -lt ${lines} ]; do echo "line $i 0123456789012345678901234567890123456789"; i=$((i+1)); done; exit 3`;
    const run = berth.start(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', script]);
    run.child.stdin.end();
    run.child.stdout.pause();
    await new Promise((r) => setTimeout(r, 1500));
    run.child.stdout.resume();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(3);
    const got = r.stdout.split('\n');
    expect(got.pop()).toBe('');
    expect(got.length).toBe(lines);
    expect(got[0]).toBe(line(0));
    expect(got[lines - 1]).toBe(line(lines - 1));
  });

  it('--restart on-failure:2 restarts twice, and inspect counts it', async () => {
    await detached(['--name', 'flaky', '--restart', 'on-failure:2', IMAGE, 'sh', '-c', 'echo try; exit 3']);
    const done = await eventually(
      'flaky to stop restarting',
      async () => {
        const c = await inspect('flaky');
        return c.status.state === 'CONTAINER_STATE_STOPPED' && c.status.restartCount === 2 ? c : undefined;
      },
      60_000,
    );
    expect(done.status.exitStatus?.exitCode).toBe(3);
    expect(await ok(['logs', 'flaky'])).toBe('try\ntry\ntry\n');
    await ok(['rm', 'flaky']);
  });

  it('--stop-signal reaches a trap on `berth stop`', async () => {
    await detached([
      '--name', 'trapper', '--stop-signal', 'SIGUSR1', IMAGE,
      'sh', '-c', 'trap "echo got USR1; exit 7" USR1; echo ready; while true; do sleep 0.2; done',
    ]);
    await eventually('trapper to be ready', async () => ((await ok(['logs', 'trapper'])).includes('ready') ? true : undefined));
    const stop = await berth(['stop', 'trapper']);
    expect(stop.code, said(stop)).toBe(0);
    expect(await ok(['wait', 'trapper'])).toBe('7\n');
    expect(await ok(['logs', 'trapper'])).toBe('ready\ngot USR1\n');
    await ok(['rm', 'trapper']);
  });

  it('--init runs an init as PID 1 and the command under it', async () => {
    const out = await ok(['run', '--rm', '--init', IMAGE, 'sh', '-c', 'cat /proc/1/comm; echo $$']);
    const [comm, shellPid] = out.trim().split('\n');
    expect(['tini', 'tini-static', 'docker-init', 'catatonit']).toContain(comm);
    expect(Number(shellPid)).toBeGreaterThan(1);
  });

  it('-t gives the process a terminal (\\r\\n line ends)', async () => {
    const r = await berth(['run', '--rm', '-t', IMAGE, 'sh', '-c', 'echo tty; test -t 1 && echo is-a-tty']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toBe('tty\r\nis-a-tty\r\n');
  });

  it('SIGTERM to a foreground run is forwarded: the container dies of it and berth exits 143', async () => {
    const { child, done } = berth.start(['run', '--rm', '--init', '--name', 'fg', IMAGE, 'sleep', '300'], { timeoutMs: 60_000 });
    await running('fg');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, said(r)).toBe(143);
    await eventually('fg to be removed', async () => ((await ok(['ps', '-aq', '--filter', 'name=fg'])) === '' ? true : undefined));
  });

  it('a command that cannot be invoked exits 126', async () => {
    const r = await berth(['run', '--rm', IMAGE, '/etc/passwd']);
    expect(r.code, said(r)).toBe(126);
    expect(r.stderr).toMatch(/^berth: .*permission denied/i);
  });

  it('exec with -e, -w and -u, and its exit code', async () => {
    await detached(['--name', 'host', IMAGE, 'sleep', '300']);
    const r = await berth(['exec', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000:1000', 'host', 'sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g)"; exit 5']);
    expect(r.code, said(r)).toBe(5);
    expect(r.stdout).toBe('hi /tmp 1000:1000\n');
    const missing = await berth(['exec', 'host', 'no-such-binary']);
    expect(missing.code, said(missing)).toBe(127);
  });

  it('start -a attaches to a created container and exits with its code', async () => {
    const id = (await ok(['create', '--name', 'later', IMAGE, 'sh', '-c', 'echo from start; exit 4'])).trim();
    containerIds.add(id);
    const r = await berth(['start', '-a', 'later']);
    expect(r.code, said(r)).toBe(4);
    expect(r.stdout).toBe('from start\n');
    await ok(['rm', 'later']);
  });
});

describe('container commands on running containers', () => {
  it('restart gives a new process; kill ends it with SIGKILL', async () => {
    const before = (await inspect('host')).status.pid;
    expect(await ok(['restart', '-t', '1', 'host'])).toBe('host\n');
    const after = await inspect('host');
    expect(after.status.state).toBe('CONTAINER_STATE_RUNNING');
    expect(after.status.pid).not.toBe(before);
    expect(await ok(['kill', 'host'])).toBe('host\n');
    expect(await ok(['wait', 'host'])).toBe('137\n');
  });

  it('pause and unpause freeze and thaw; rename keeps the container', async () => {
    await detached(['--name', 'counter', IMAGE, 'sh', '-c', 'while true; do date +%s%N; sleep 0.1; done']);
    await ok(['pause', 'counter']);
    const paused = json<{ State: string }[]>(await berth(['ps', '--filter', 'name=counter', '--format', 'json']))[0]!;
    expect(paused.State).toBe('paused');
    const frozen = (await ok(['logs', 'counter'])).length;
    await new Promise((r) => setTimeout(r, 500));
    expect((await ok(['logs', 'counter'])).length).toBe(frozen);
    await ok(['unpause', 'counter']);
    await eventually('output after unpause', async () => ((await ok(['logs', 'counter'])).length > frozen ? true : undefined));

    await ok(['rename', 'counter', 'ticker']);
    expect((await inspect('ticker')).name).toBe('ticker');
    const gone = await berth(['inspect', '--type', 'container', 'counter']);
    expect(gone.code).toBe(125);
  });

  it('stats --no-stream and top show the running container', async () => {
    const stats = json<{ Name: string; PIDs: number; MemoryBytes: number }[]>(await berth(['stats', '--no-stream', '--format', 'json', 'ticker']));
    expect(stats).toEqual([expect.objectContaining({ Name: 'ticker' })]);
    expect(stats[0]!.PIDs).toBeGreaterThan(0);
    expect(stats[0]!.MemoryBytes).toBeGreaterThan(0);
    const top = await ok(['top', 'ticker']);
    expect(top.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID\s+TIME\s+RSS\s+CMD$/);
    expect(top).toContain('sh -c while true');
    await ok(['rm', '-f', 'ticker']);
  });

  it('logs -f follows until the container exits; --since cuts the earlier lines', async () => {
    await detached(['--name', 'talker', IMAGE, 'sh', '-c', 'echo early; sleep 2; echo late; sleep 1; echo last']);
    const follow = await berth(['logs', '-f', 'talker'], { timeoutMs: 30_000 });
    expect(follow.signal, said(follow)).toBeNull();
    expect(follow.code, said(follow)).toBe(0);
    expect(follow.stdout).toBe('early\nlate\nlast\n');

    const stamped = (await ok(['logs', '-t', 'talker'])).trim().split('\n').map((l) => l.split(' '));
    const early = Date.parse(stamped[0]![0]!);
    const late = Date.parse(stamped[1]![0]!);
    const between = new Date((early + late) / 2).toISOString();
    expect(await ok(['logs', '--since', between, 'talker'])).toBe('late\nlast\n');
    await ok(['rm', 'talker']);
  });
});

describe('storage', () => {
  it('-v with a named volume: written by one container, read by another', async () => {
    await ok(['run', '--rm', '-v', 'e2e-data:/data', IMAGE, 'sh', '-c', 'echo kept > /data/note']);
    expect(await ok(['run', '--rm', '-v', 'e2e-data:/data:ro', IMAGE, 'cat', '/data/note'])).toBe('kept\n');
  });

  it('--mount type=bind, type=volume and type=tmpfs', async () => {
    const dir = join(state.root, 'bind-src');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'host.txt'), 'from host\n');
    const out = await ok([
      'run', '--rm',
      '--mount', `type=bind,source=${dir},target=/b`,
      '--mount', 'type=volume,source=e2e-data,target=/v',
      '--mount', 'type=tmpfs,target=/t',
      IMAGE, 'sh', '-c', 'cat /b/host.txt /v/note; echo back > /b/back.txt; grep " /t " /proc/mounts | cut -d" " -f3',
    ]);
    expect(out).toBe('from host\nkept\ntmpfs\n');
    expect(readFileSync(join(dir, 'back.txt'), 'utf8')).toBe('back\n');
  });
});

describe('volumes', () => {
  it('a new named volume is filled from the image at its mount path; nocopy leaves it empty', async () => {
    expect((await ok(['run', '--rm', '-v', 'e2e-etc:/etc', IMAGE, 'ls', '/etc'])).split('\n')).toContain('passwd');
    expect(await ok(['run', '--rm', '-v', 'e2e-etc:/copied', IMAGE, 'head', '-n1', '/copied/passwd'])).toMatch(/^root:x:0:0:/);
    const bare = await ok(['run', '--rm', '--mount', 'type=volume,src=e2e-bare,dst=/etc,volume-nocopy', IMAGE, 'ls', '/etc']);
    expect(bare.split('\n')).not.toContain('passwd');
  });

  it('volume create, ls, inspect; rm is refused while a container uses the volume', async () => {
    expect(await ok(['volume', 'create', '--label', 'tier=e2e', 'e2e-made'])).toBe('e2e-made\n');
    expect((await ok(['volume', 'ls', '-q'])).split('\n')).toEqual(expect.arrayContaining(['e2e-etc', 'e2e-bare', 'e2e-made']));
    const [made] = json<{ Name: string; Labels: Record<string, string>; Mountpoint: string }[]>(await berth(['volume', 'inspect', 'e2e-made']));
    expect(made).toMatchObject({ Name: 'e2e-made', Labels: { tier: 'e2e' } });
    expect(existsSync(made!.Mountpoint)).toBe(true);
    const user = (await ok(['create', '--name', 'vol-user', '-v', 'e2e-made:/m', IMAGE, 'true'])).trim();
    containerIds.add(user);
    const refused = await berth(['volume', 'rm', 'e2e-made']);
    expect(refused.code, said(refused)).toBe(125);
    expect(refused.stderr).toContain(user);
    await ok(['rm', 'vol-user']);
    expect(await ok(['volume', 'rm', 'e2e-made', 'e2e-bare'])).toBe('e2e-made\ne2e-bare\n');
    expect(existsSync(made!.Mountpoint)).toBe(false);
  });

  it('volume prune removes unused anonymous volumes, named ones with -a; system df counts volumes', async () => {
    const anon = (await ok(['volume', 'create'])).trim();
    expect(anon).toMatch(HEX64);
    const pruned = await ok(['volume', 'prune', '-f']);
    expect(pruned).toContain(anon);
    expect(pruned).not.toContain('e2e-etc');
    const df = json<{ Type: string; TotalCount: number }[]>(await berth(['system', 'df', '--format', 'json']));
    expect(df.find((r) => r.Type === 'Local Volumes')?.TotalCount).toBeGreaterThanOrEqual(2);
    expect(await ok(['volume', 'prune', '-af'])).toContain('e2e-etc');
    expect((await ok(['volume', 'ls', '-q'])).split('\n')).not.toContain('e2e-etc');
  });
});

describe('namespaces', () => {
  it('-n keeps containers and images apart; the same name can live in both', async () => {
    await detached(['--name', 'twin', IMAGE, 'sleep', '300']);
    const other = await berth(['-n', OTHER_NS, 'run', '-d', '--name', 'twin', IMAGE, 'sleep', '300']);
    expect(other.code, said(other)).toBe(0);
    const otherId = other.stdout.trim();
    containerIds.add(otherId);
    expect(other.stderr).toContain(`Unable to find image '${IMAGE}' locally`);
    const mine = json<{ ID: string }[]>(await berth(['ps', '--filter', 'name=twin', '--format', 'json']));
    const theirs = json<{ ID: string }[]>(await berth(['-n', OTHER_NS, 'ps', '--format', 'json']));
    expect(theirs.map((c) => c.ID)).toEqual([otherId]);
    expect(mine.map((c) => c.ID)).not.toContain(otherId);
    expect((await inspect('twin', OTHER_NS)).id).toBe(otherId);
    await ok(['-n', OTHER_NS, 'rm', '-f', 'twin']);
    expect(json<unknown[]>(await berth(['-n', OTHER_NS, 'ps', '-a', '--format', 'json']))).toEqual([]);
    await ok(['rm', '-f', 'twin']);
  });
});

describe('the CLI host', () => {
  /** The commands the host has finished, from its log (one JSON line each). */
  const hostCommands = () =>
    readFileSync(join(state.root, 'logs', 'cli-host.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"command"'))
      .map((l) => JSON.parse(l) as { argv0: string; code: number });

  it('runs with the stack and serves the commands of `berth`', async () => {
    const status = json<{ name: string; kind: string; health: string }[]>(await berth(['system', 'status', '--format', 'json']));
    expect(status.find((c) => c.name === 'cli-host')).toMatchObject({ kind: 'companion', health: 'SERVING' });
    const before = hostCommands().length;
    expect(await ok(['ps', '-aq', '--filter', 'name=nobody-by-this-name'])).toBe('');
    // (the host's log line is written asynchronously: it may land just after the client's exit)
    const served = await eventually('the host to log the command', async () => {
      const lines = hostCommands().slice(before);
      return lines.length > 0 ? lines : undefined;
    });
    expect(served).toEqual([expect.objectContaining({ argv0: 'ps', code: 0 })]);
  });

  it('a client that is killed ends its command in the host: nothing keeps following for it', async () => {
    await detached(['--name', 'chatter', IMAGE, 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const before = hostCommands().filter((c) => c.argv0 === 'logs').length;
    const { child, done } = berth.start(['logs', '-f', 'chatter'], { timeoutMs: 60_000 });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await done;
    await eventually('the host to end `logs -f`', async () => (hostCommands().filter((c) => c.argv0 === 'logs').length > before ? true : undefined), 10_000);
    await ok(['rm', '-f', 'chatter']);
  });

  it('Ctrl-C ends a command that does not handle it, and berth dies of it, as a berth process does', async () => {
    await detached(['--name', 'waited', IMAGE, 'sleep', '300']);
    const before = hostCommands().filter((c) => c.argv0 === 'wait').length;
    const { child, done } = berth.start(['wait', 'waited'], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const r = await done;
    expect(r.signal, said(r)).toBe('SIGINT');
    await eventually('the host to end `wait`', async () => (hostCommands().filter((c) => c.argv0 === 'wait').length > before ? true : undefined), 10_000);
    // the container is the user's: it keeps running
    expect(await ok(['ps', '-q', '--filter', 'name=waited', '--filter', 'status=running'])).not.toBe('');
    await ok(['rm', '-f', 'waited']);
  });
});

describe('admin views and prune', () => {
  it('snapshot usage lists the image\'s layer; rm refuses a parent and names an unknown key', async () => {
    await detached(['--name', 'holder', IMAGE, 'sleep', '300']);
    const usage = json<{ Key: string; Size: number; Inodes: number }[]>(await berth(['snapshot', 'usage', '--format', 'json']));
    const snapshots = json<{ Key: string; Kind: string; Parent: string }[]>(await berth(['snapshot', 'ls', '--format', 'json']));
    const layer = snapshots.find((s) => s.Kind === 'committed')!;
    expect(layer, JSON.stringify(snapshots)).toBeDefined();
    const layerUsage = usage.find((u) => u.Key === layer.Key)!;
    expect(layerUsage.Size).toBeGreaterThan(0);
    expect(layerUsage.Inodes).toBeGreaterThan(0);
    expect(snapshots.some((s) => s.Kind === 'active' && s.Parent === layer.Key)).toBe(true);

    const inUse = await berth(['snapshot', 'rm', layer.Key]);
    expect(inUse.code, said(inUse)).toBe(125);
    expect(inUse.stderr).not.toMatch(/\n\s+at /);
    const unknown = await berth(['snapshot', 'rm', 'no-such-snapshot']);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toBe('berth: No such snapshot: no-such-snapshot\n');
    await ok(['rm', '-f', 'holder']);
  });

  it('container prune removes stopped containers only', async () => {
    const doneId = (await ok(['create', '--name', 'stopped-one', IMAGE, 'true'])).trim();
    containerIds.add(doneId);
    await detached(['--name', 'alive', IMAGE, 'sleep', '300']);
    const r = await berth(['container', 'prune', '-f']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toContain(doneId);
    const left = json<{ Names: string }[]>(await berth(['ps', '-a', '--format', 'json'])).map((c) => c.Names);
    expect(left).toEqual(['alive']);
    await ok(['rm', '-f', 'alive']);
  });

  it('image prune -a removes images no container uses; content rm removes a blob', async () => {
    const before = json<{ Name: string }[]>(await berth(['images', '--format', 'json'])).map((i) => i.Name);
    expect(before).toContain(WEB_IMAGE);
    const r = await berth(['image', 'prune', '-af']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toContain(`untagged: ${WEB_IMAGE}`);
    expect(json<unknown[]>(await berth(['images', '--format', 'json']))).toEqual([]);

    // the pull brings the blobs back; once the image is gone, a blob can be removed by digest
    await ok(['pull', '-q', IMAGE]);
    await ok(['rmi', IMAGE]);
    const layer = busybox.layers[0]!.digest;
    expect((await ok(['content', 'ls', '-q'])).split('\n')).toContain(layer);
    expect(await ok(['content', 'rm', layer])).toBe(`${layer}\n`);
    expect((await ok(['content', 'ls', '-q'])).split('\n')).not.toContain(layer);
    const unknown = await berth(['content', 'rm', `sha256:${'0'.repeat(64)}`]);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain(`No such content: sha256:${'0'.repeat(64)}`);
  });

  it('system prune -af leaves nothing behind', async () => {
    await ok(['pull', '-q', IMAGE]);
    const id = (await ok(['create', IMAGE, 'true'])).trim();
    containerIds.add(id);
    const r: Result = await berth(['system', 'prune', '-af']);
    expect(r.code, said(r)).toBe(0);
    expect(json<unknown[]>(await berth(['ps', '-a', '--format', 'json']))).toEqual([]);
    expect(json<unknown[]>(await berth(['images', '--format', 'json']))).toEqual([]);
    expect((await ok(['network', 'ls', '--filter', 'type=custom', '-q'])).trim()).toBe('');
  });

  it('once every container and user network is gone, so are their netns, bridges and iptables rules', async () => {
    expect(json<unknown[]>(await berth(['ps', '-a', '--format', 'json']))).toEqual([]);
    const netns = ipNetns();
    expect([...containerIds].filter((id) => netns.includes(id))).toEqual([]);
    const links = ipLinks();
    expect([userBridge, connectBridge].filter((b) => links.includes(` ${b}:`))).toEqual([]);
    const leftovers = iptablesLinesMentioning(...containerIds, userBridge, connectBridge, ...[defaultSubnet, userSubnet, connectSubnet].map(prefix24));
    expect(leftovers).toEqual([]);
  });
});

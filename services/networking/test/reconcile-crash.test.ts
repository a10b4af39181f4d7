// Nothing leaks after kill -9: the node agent and the networking service run
// as their own processes, containers are attached (published port, two
// networks, a netns never attached, name files), both processes get SIGKILL,
// both restart on the same state, and ReconcileAttachments releases what
// belongs to containers that are gone: checked on the host with `ip -o link`,
// `ip netns list`, host-local's files and iptables.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, networking, types } from '@berth/api';
import { listCachedAttachments, listHostLocalReservations, listNetns, removeBridge, removeNetns } from '@berth/cni';
import { createClient, waitForHealth } from '@berth/service-kit';
import { startNats, type TestNats } from '@berth/testkit';
import { call, callError } from './grpc-harness.js';
import { freePort, iptablesLinesMentioning, pickTestSubnet, purgeIptablesRules, requireBinary, uniqueName } from './helpers.js';

const id = uniqueName('');
// the agent names this suite's namespaces <prefix><container id>
const prefix = `brc${id}-`;
const defaultBridge = `brd${id}`;
const appBridge = `bra${id}`;
const defaultSubnet = pickTestSubnet();
let appSubnet = pickTestSubnet();
while (appSubnet === defaultSubnet) appSubnet = pickTestSubnet();
const appNet = `app${id}`;
const cid = (name: string): string => `rc${id}${name}`;
const containers = ['live', 'pub', 'multi', 'bare', 'again'].map(cid);

const AGENT_MAIN = resolve(__dirname, 'fixtures/agent-main.mjs');
const NETWORKING_MAIN = resolve(__dirname, '../dist/main.js');
const AGENT_DIST = resolve(__dirname, '../../agent/dist/grpc/netns.js');

let root: string;
let nats: TestNats;
const procs: { agent?: ChildProcess; networking?: ChildProcess } = {};
let clients: {
  netns: agent.NetnsClient;
  attachments: networking.AttachmentsClient;
  networks: networking.NetworksClient;
  dns: networking.DnsClient;
  close(): void;
};

const agentAddress = () => `unix:${join(root, 'agent-run', 'agent.sock')}`;
const networkingAddress = () => `unix:${join(root, 'net-run', 'networking.sock')}`;
const networkingState = () => join(root, 'net-root', 'networking');

/** A service process that gets SIGKILL if this test process dies (setpriv --pdeathsig). */
async function startProcess(name: string, main: string, configFile: string, address: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const log = join(root, `${name}.log`);
  const child = spawn(requireBinary('setpriv', 'util-linux'), ['--pdeathsig', 'KILL', '--', process.execPath, main], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', BERTH_CONFIG: configFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  child.on('close', () => writeFileSync(log, out, { flag: 'a' }));
  const until = Date.now() + 60_000;
  while (!(await waitForHealth(address, 1000))) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`the ${name} process did not serve on ${address} (exit ${child.exitCode}):\n${out}`);
    }
  }
  return child;
}

async function startAll(): Promise<void> {
  procs.agent = await startProcess('agent', AGENT_MAIN, join(root, 'agent.json'), agentAddress(), { TEST_AGENT_NETNS_PREFIX: prefix });
  procs.networking = await startProcess('networking', NETWORKING_MAIN, join(root, 'networking.json'), networkingAddress());
}

async function killAll(signal: NodeJS.Signals): Promise<void> {
  for (const p of [procs.networking, procs.agent]) {
    if (!p || p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once('close', r));
    p.kill(signal);
    await gone;
  }
}

/** Interfaces enslaved to this suite's bridges, from `ip -o link`. */
function enslavedLinks(): string[] {
  return execFileSync('ip', ['-o', 'link'])
    .toString()
    .split('\n')
    .filter((l) => l.includes(`master ${defaultBridge} `) || l.includes(`master ${appBridge} `));
}

/** This suite's namespaces, from `ip netns list`. */
function suiteNetns(): string[] {
  return execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix))
    .sort();
}

/** Addresses host-local holds, per network, with their owners. */
async function reservations(network: string): Promise<string[]> {
  return (await listHostLocalReservations(join(networkingState(), 'ipam', network))).map((r) => r.containerId).sort();
}

async function cachedContainers(): Promise<string[]> {
  return (await listCachedAttachments({ cacheDir: join(root, 'agent-root', 'agent', 'cni', 'results') })).entries.map((e) => e.containerId).sort();
}

const attach = (req: Partial<networking.AttachContainerRequest>) =>
  call(clients.attachments.attachContainer.bind(clients.attachments), networking.AttachContainerRequest.fromPartial(req)).then((r) => r.attachment!);

async function newNetns(container: string): Promise<string> {
  return (await call(clients.netns.createNetns.bind(clients.netns), { containerId: container })).netns!.path;
}

const reconcile = (live: string[]) =>
  call(clients.attachments.reconcileAttachments.bind(clients.attachments), { liveContainerIds: live, node: '' }, 'rctest');

beforeAll(async () => {
  for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) requireBinary(`/usr/lib/cni/${p}`);
  for (const f of [NETWORKING_MAIN, AGENT_DIST]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npm run build" in services/networking and services/agent before the tests`);
  }
  root = mkdtempSync(join(tmpdir(), 'bnrc-'));
  nats = await startNats();
  const common = { node: 'rcnode', nats: { url: nats.url }, log: { level: 'info' } };
  writeFileSync(join(root, 'agent.json'), JSON.stringify({ ...common, root: join(root, 'agent-root'), runtimeDir: join(root, 'agent-run') }));
  writeFileSync(
    join(root, 'networking.json'),
    JSON.stringify({
      ...common,
      root: join(root, 'net-root'),
      runtimeDir: join(root, 'net-run'),
      peers: { agent: agentAddress() },
      defaultNetwork: { bridge: defaultBridge, subnet: defaultSubnet },
      // the test's own resolver list: nothing is forwarded off this host
      dns: { upstreams: ['127.0.0.1:9'] },
    }),
  );
  await startAll();
  const c = {
    netns: createClient(agent.NetnsClient, agentAddress()),
    attachments: createClient(networking.AttachmentsClient, networkingAddress()),
    networks: createClient(networking.NetworksClient, networkingAddress()),
    dns: createClient(networking.DnsClient, networkingAddress()),
  };
  clients = { ...c, close: () => Object.values(c).forEach((x) => x.close()) };
});

afterAll(async () => {
  // after a failed test: the services release what they still hold (portmap and masquerade chains included)
  if (clients && procs.agent?.exitCode === null && procs.networking?.exitCode === null) await reconcile([]).catch(() => undefined);
  clients?.close();
  await killAll('SIGKILL');
  await nats?.stop();
  for (const ns of await listNetns()) if (ns.startsWith(prefix)) await removeNetns(ns).catch(() => undefined);
  for (const br of [defaultBridge, appBridge]) await removeBridge(br).catch(() => undefined);
  for (const c of containers) purgeIptablesRules(c);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('reconcile after kill -9 of the agent and the networking service', () => {
  it('releases addresses, veths, port mappings, names, name files and netns of gone containers, and keeps the live ones', async () => {
    await call(
      clients.networks.createNetwork.bind(clients.networks),
      networking.CreateNetworkRequest.fromPartial({ name: appNet, subnet: appSubnet, options: { bridge: appBridge } }),
    );
    const hostPort = await freePort();
    await attach({ containerId: cid('live'), netnsPath: await newNetns(cid('live')) });
    await attach({
      containerId: cid('pub'),
      netnsPath: await newNetns(cid('pub')),
      ports: [{ hostIp: '127.0.0.1', hostPort, containerPort: 80, protocol: types.Protocol.TCP }],
    });
    const multiNs = await newNetns(cid('multi'));
    await attach({ containerId: cid('multi'), netnsPath: multiNs });
    await attach({ containerId: cid('multi'), containerName: 'multi', netnsPath: multiNs, network: appNet });
    await newNetns(cid('bare')); // the container's start died between CreateNetns and its attach
    const files = await call(clients.dns.prepareContainerDns.bind(clients.dns), networking.PrepareContainerDnsRequest.fromPartial({ containerId: cid('pub') }));

    expect(suiteNetns()).toEqual([cid('live'), cid('pub'), cid('multi'), cid('bare')].map((c) => `${prefix}${c}`).sort());
    expect(enslavedLinks()).toHaveLength(4);
    expect(await reservations('bridge')).toEqual([cid('live'), cid('multi'), cid('pub')].sort());
    expect(await reservations(appNet)).toEqual([cid('multi')]);
    expect(iptablesLinesMentioning(cid('pub')).some((l) => l.includes(`--dports ${hostPort} `))).toBe(true);

    await killAll('SIGKILL');
    // the kernel state outlives both processes
    expect(suiteNetns()).toHaveLength(4);
    expect(enslavedLinks()).toHaveLength(4);
    await startAll();

    // only `live` still exists
    const first = await reconcile([cid('live')]);
    expect(first.failures).toEqual([]);
    expect(first.released.map((a) => [a.containerId, a.network, a.interfaceName]).sort()).toEqual(
      [
        [cid('multi'), 'bridge', 'eth0'],
        [cid('multi'), appNet, 'eth1'],
        [cid('pub'), 'bridge', 'eth0'],
      ].sort(),
    );
    expect(first.released.every((a) => a.ips.length === 1 && a.cniResultJson.length > 0)).toBe(true);
    expect([...first.netnsRemoved].sort()).toEqual([cid('bare'), cid('multi'), cid('pub')].sort());
    expect(first.nameFilesRemoved).toEqual([cid('pub')]);
    expect(existsSync(files.hostsPath)).toBe(false);

    expect(suiteNetns()).toEqual([`${prefix}${cid('live')}`]);
    expect(enslavedLinks()).toHaveLength(1);
    expect(enslavedLinks()[0]).toContain(`master ${defaultBridge} `);
    expect(await reservations('bridge')).toEqual([cid('live')]);
    expect(await reservations(appNet)).toEqual([]);
    expect(iptablesLinesMentioning(cid('pub'), cid('multi'))).toEqual([]);
    expect(await cachedContainers()).toEqual([cid('live')]);
    const listed = await call(clients.attachments.listAttachments.bind(clients.attachments), { filters: [] });
    expect(listed.attachments.map((a) => a.containerId)).toEqual([cid('live')]);
    const name = await callError(clients.dns.resolveName.bind(clients.dns), { network: appNet, name: 'multi' });
    expect(name.code).toBe(status.NOT_FOUND);

    // then `live` is gone too: nothing at all is left
    const second = await reconcile([]);
    expect(second.failures).toEqual([]);
    expect(second.released.map((a) => a.containerId)).toEqual([cid('live')]);
    expect(second.netnsRemoved).toEqual([cid('live')]);
    expect(suiteNetns()).toEqual([]);
    expect(enslavedLinks()).toEqual([]);
    expect(await reservations('bridge')).toEqual([]);
    expect(await reservations(appNet)).toEqual([]);
    expect(readdirSync(join(networkingState(), 'ipam', 'bridge')).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(iptablesLinesMentioning(...containers)).toEqual([]);
    expect(await cachedContainers()).toEqual([]);
    expect((await call(clients.attachments.listAttachments.bind(clients.attachments), { filters: [] })).attachments).toEqual([]);

    // and a third run finds nothing to do
    expect(await reconcile([])).toEqual({ released: [], netnsRemoved: [], nameFilesRemoved: [], failures: [] });

    // the user network goes, the agent removing its bridge and host-local state
    await call(clients.networks.removeNetwork.bind(clients.networks), { name: appNet });
    expect(execFileSync('ip', ['-o', 'link']).toString()).not.toContain(`: ${appBridge}:`);
    expect(existsSync(join(networkingState(), 'ipam', appNet))).toBe(false);
  }, 300_000);

  it('refuses another node, a bad container id, and an unreachable agent, releasing nothing', async () => {
    const otherNode = await callError(clients.attachments.reconcileAttachments.bind(clients.attachments), { liveContainerIds: [], node: 'elsewhere' });
    expect(otherNode.code).toBe(status.FAILED_PRECONDITION);
    expect(otherNode.details).toBe(
      'this networking service keeps the attachments of node "rcnode", not "elsewhere": reconcile node "elsewhere" through its own networking service',
    );
    const badId = await callError(clients.attachments.reconcileAttachments.bind(clients.attachments), { liveContainerIds: ['ok', '../x'], node: 'rcnode' });
    expect(badId.code).toBe(status.INVALID_ARGUMENT);
    expect(badId.details).toContain('invalid CNI container id "../x"');

    await attach({ containerId: cid('again'), netnsPath: await newNetns(cid('again')) });
    procs.agent!.kill('SIGKILL');
    await new Promise((r) => procs.agent!.once('close', r));
    const down = await callError(clients.attachments.reconcileAttachments.bind(clients.attachments), { liveContainerIds: [], node: '' });
    expect(down.code).toBe(status.UNAVAILABLE);
    expect(down.details).toContain(`node agent at ${agentAddress()} is unreachable`);
    const still = await call(clients.attachments.listAttachments.bind(clients.attachments), { filters: [] });
    expect(still.attachments.map((a) => a.containerId)).toEqual([cid('again')]);

    procs.agent = await startProcess('agent', AGENT_MAIN, join(root, 'agent.json'), agentAddress(), { TEST_AGENT_NETNS_PREFIX: prefix });
    // as a caller does: retry while the service's channel to the agent is still backing off
    let after: networking.ReconcileAttachmentsResponse | undefined;
    for (let attempt = 0; !after; attempt++) {
      try {
        after = await reconcile([]);
      } catch (e) {
        if ((e as { code?: number }).code !== status.UNAVAILABLE || attempt >= 60) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(after.failures).toEqual([]);
    expect(after.released.map((a) => a.containerId)).toEqual([cid('again')]);
    expect(iptablesLinesMentioning(cid('again'))).toEqual([]);
    expect(suiteNetns()).toEqual([]);
    expect(enslavedLinks()).toEqual([]);
  }, 300_000);
});

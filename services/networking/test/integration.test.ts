// The service with real CNI plugins and namespaces (through @berth/cni as the
// executor): published ports, name resolution through the embedded DNS
// server, and nothing left behind after detach, a crash and reconcile.
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createNetns, deleteLink, listCachedAttachments, listLinks, listNetns, removeBridge, removeNetns } from '@berth/cni';
import {
  NetworkingError,
  NetworkingService,
  addressRecord,
  encodeMessage,
  localCniExecutor,
  parseMessage,
  type Attachment,
  type NetworkingServiceOptions,
} from '../src/index.js';
import {
  freePort,
  iptablesLinesMentioning,
  inNetns,
  pickTestSubnet,
  purgeIptablesRules,
  requireBinary,
  startNetnsServer,
  tcpRead,
  uniqueName,
} from './helpers.js';

const id = uniqueName('');
const prefix = `bnt${id}-`;
const defaultBridge = `bd${id}`;
const appBridge = `ba${id}`;
const defaultSubnet = pickTestSubnet();
let appSubnet = pickTestSubnet();
while (appSubnet === defaultSubnet) appSubnet = pickTestSubnet();
const parentLink = `bm${id}`;
const cid = (name: string): string => `it${id}${name}`;
const containers = ['pub', 'busy', 'web', 'client', 'crash1', 'crash2', 'macvlan'].map(cid);

let root: string;
let opts: NetworkingServiceOptions;
let svc: NetworkingService;
let upstream: dgram.Socket;
const upstreamSaw: string[] = [];
const servers: ChildProcess[] = [];
const etcNetns: string[] = [];

async function newNetns(container: string): Promise<string> {
  const name = `${prefix}${container}`;
  await createNetns(name);
  return name;
}

function ip(a: Attachment): string {
  return a.ips[0]!.replace(/\/\d+$/, '');
}

function reservedIps(network: string): string[] {
  const dir = join(root, 'state', 'ipam', network);
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

beforeAll(async () => {
  for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) requireBinary(`/usr/lib/cni/${p}`);
  requireBinary('/bin/busybox');
  root = mkdtempSync(join(tmpdir(), 'berth-net-int-'));
  upstream = dgram.createSocket('udp4');
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  upstream.on('message', (msg, rinfo) => {
    const q = parseMessage(msg);
    upstreamSaw.push(q.questions[0]!.name);
    upstream.send(encodeMessage({ ...q, qr: true, ra: true, answers: [addressRecord(q.questions[0]!.name, '192.0.2.99', 30)] }), rinfo.port, rinfo.address);
  });
  opts = {
    stateDir: join(root, 'state'),
    node: 'itnode',
    executor: localCniExecutor({ cacheDir: join(root, 'cni-cache') }, { netnsPrefix: prefix }),
    defaultNetwork: { bridge: defaultBridge, subnet: defaultSubnet },
    dns: { port: 53, upstreams: [{ address: '127.0.0.1', port: upstream.address().port }] },
  };
  svc = await NetworkingService.open(opts);
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  if (svc) {
    await svc.reconcile([]).catch(() => undefined);
    await svc.close().catch(() => undefined);
  }
  for (const ns of await listNetns()) if (ns.startsWith(prefix)) await removeNetns(ns).catch(() => undefined);
  for (const br of [defaultBridge, appBridge]) await removeBridge(br).catch(() => undefined);
  await deleteLink(parentLink).catch(() => undefined);
  for (const c of containers) purgeIptablesRules(c);
  for (const d of etcNetns) rmSync(d, { recursive: true, force: true });
  if (etcNetns.length > 0 && existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
  upstream?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('networking service with real CNI', () => {
  it('publishes a port: a TCP server in the container answers on 127.0.0.1:<host port>', async () => {
    const ns = await newNetns(cid('pub'));
    const hostPort = await freePort();
    const a = await svc.attach({ containerId: cid('pub'), netns: ns, ports: [`${hostPort}:8080`] });
    expect(a.ports).toEqual([{ hostIp: '127.0.0.1', hostPort, containerPort: 8080, protocol: 'tcp' }]);
    expect(a.ips[0]).toMatch(new RegExp(`^${defaultSubnet.split('.').slice(0, 3).join('\\.')}\\.`));
    servers.push(await startNetnsServer(ns, 8080, 'published'));
    expect(await tcpRead('127.0.0.1', hostPort)).toBe('published');
    await svc.check(cid('pub'), 'bridge');
  });

  it('refuses a host port a process holds before setting anything up', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const ns = await newNetns(cid('busy'));
      const err = await svc.attach({ containerId: cid('busy'), netns: ns, ports: [`${port}:80`] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkingError);
      expect((err as Error).message).toBe(`host port 127.0.0.1:${port}/tcp is already in use on this host (another process is bound to it)`);
      expect(svc.listAttachments({ containerId: cid('busy') })).toEqual([]);
      expect((await listLinks(ns)).map((l) => l.name)).toEqual(['lo']);
      expect(iptablesLinesMentioning(cid('busy'))).toEqual([]);
      expect((await listCachedAttachments({ cacheDir: join(root, 'cni-cache') })).entries.map((e) => e.containerId)).not.toContain(cid('busy'));
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });

  it('containers on a user network find each other by name and alias through the embedded DNS', async () => {
    await svc.createNetwork({ name: `app${id}`, bridge: appBridge, subnets: [{ subnet: appSubnet }] });
    const gateway = appSubnet.replace(/\.0\/24$/, '.1');
    const nsWeb = await newNetns(cid('web'));
    const nsClient = await newNetns(cid('client'));
    const web = await svc.attach({ containerId: cid('web'), containerName: 'web', aliases: ['www'], network: `app${id}`, netns: nsWeb });
    await svc.attach({ containerId: cid('client'), containerName: 'client', network: `app${id}`, netns: nsClient });
    servers.push(await startNetnsServer(nsWeb, 8080, 'hello by name'));

    // the query goes from inside the client's namespace to the gateway
    for (const name of ['web', 'www', 'WEB']) {
      const r = await inNetns(nsClient, ['busybox', 'nslookup', '-type=A', name, gateway]);
      expect(r.out, name).toContain(`Address: ${ip(web)}`);
    }
    const unknown = await inNetns(nsClient, ['busybox', 'nslookup', '-type=A', 'nosuchname', gateway]);
    expect(unknown.out).toMatch(/NXDOMAIN/);
    expect(upstreamSaw).toEqual([]);
    const fwd = await inNetns(nsClient, ['busybox', 'nslookup', '-type=A', 'forward.example.test', gateway]);
    expect(fwd.out).toContain('Address: 192.0.2.99');
    expect(upstreamSaw).toEqual(['forward.example.test']);

    // as a program does it: resolv.conf and hosts as berth writes them, glibc resolver, connect by name
    const files = svc.containerFiles(cid('client'), { hostname: 'client' });
    expect(files.resolvConf).toContain(`nameserver ${gateway}\n`);
    const dir = `/etc/netns/${nsClient}`;
    etcNetns.push(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'resolv.conf'), files.resolvConf);
    writeFileSync(join(dir, 'hosts'), files.hosts);
    const script = `require('net').connect({ host: 'web', port: 8080 }).on('data', (d) => process.stdout.write(d)).on('error', (e) => { console.error(e.message); process.exit(3); })`;
    const fetched = await inNetns(nsClient, [process.execPath, '-e', script]);
    expect(fetched.out).toBe('hello by name');

    // detaching a container removes its name
    await svc.detach(cid('web'));
    expect((await inNetns(nsClient, ['busybox', 'nslookup', '-type=A', 'web', gateway])).out).toMatch(/NXDOMAIN/);
    await expect(svc.removeNetwork(`app${id}`)).rejects.toThrow(`network "app${id}" is in use by 1 container(s): client (${cid('client').slice(0, 12)})`);
  });

  it('detach, then a crash and reconcile, leave no veth, IPAM reservation, netns or iptables rule', async () => {
    const ns1 = await newNetns(cid('crash1'));
    const ns2 = await newNetns(cid('crash2'));
    const a1 = await svc.attach({ containerId: cid('crash1'), netns: ns1, ports: [`${await freePort()}:80`] });
    const a2 = await svc.attach({ containerId: cid('crash2'), network: `app${id}`, netns: ns2 });
    expect(reservedIps('bridge')).toContain(ip(a1));
    expect(reservedIps(`app${id}`)).toContain(ip(a2));
    expect(iptablesLinesMentioning(cid('crash1')).length).toBeGreaterThan(0);

    // the service dies without detaching anything; a new one starts and learns only `pub` still lives
    await svc.close();
    svc = await NetworkingService.open(opts);
    const report = await svc.reconcile([cid('pub')]);
    expect(report.failures).toEqual([]);
    expect(report.released.map((r) => r.attachment.containerId).sort()).toEqual([cid('client'), cid('crash1'), cid('crash2')].sort());
    expect(report.netnsRemoved.sort()).toEqual([cid('busy'), cid('client'), cid('crash1'), cid('crash2'), cid('web')].sort());

    // detach the survivor the ordinary way, then look for leftovers
    servers.forEach((s) => s.kill('SIGKILL'));
    await svc.detach(cid('pub'));
    await removeNetns(`${prefix}${cid('pub')}`);
    expect(svc.listAttachments()).toEqual([]);
    expect((await listLinks()).filter((l) => l.master === defaultBridge || l.master === appBridge)).toEqual([]);
    expect(reservedIps('bridge')).toEqual([]);
    expect(reservedIps(`app${id}`)).toEqual([]);
    expect((await listNetns()).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(iptablesLinesMentioning(...containers)).toEqual([]);
    expect((await listCachedAttachments({ cacheDir: join(root, 'cni-cache') })).entries).toEqual([]);

    // and the user network can go now, bridge included
    await svc.removeNetwork(`app${id}`);
    expect((await listLinks()).some((l) => l.name === appBridge)).toBe(false);
    expect(iptablesLinesMentioning(appBridge)).toEqual([]);
  });

  // (ipvlan is generated the same way but this machine's kernel has no ipvlan driver)
  it('a macvlan network on a parent interface of this test', async () => {
    // a veth pair stands in for a NIC (this kernel has no dummy driver)
    execFileSync('ip', ['link', 'add', parentLink, 'type', 'veth', 'peer', 'name', `bp${id}`]);
    execFileSync('ip', ['link', 'set', parentLink, 'up']);
    let third = 100;
    for (const driver of ['macvlan'] as const) {
      let subnet = pickTestSubnet();
      while (subnet === defaultSubnet || subnet === appSubnet) subnet = pickTestSubnet();
      const name = `${driver}${id}`;
      const net = await svc.createNetwork({ name, driver, parent: parentLink, subnets: [{ subnet }] });
      expect(net).toMatchObject({ driver, parent: parentLink, dns: false });
      const ns = await newNetns(cid(driver));
      const staticIp = subnet.replace(/\.0\/24$/, `.${third++}`);
      const a = await svc.attach({ containerId: cid(driver), network: name, netns: ns, ipv4Address: staticIp });
      expect(a.ips).toEqual([`${staticIp}/24`]);
      const links = await listLinks(ns);
      expect(links.find((l) => l.name === 'eth0')?.kind).toBe(driver);
      expect(reservedIps(name)).toEqual([staticIp]);
      await svc.check(cid(driver), name);
      await svc.detach(cid(driver));
      expect(reservedIps(name)).toEqual([]);
      expect((await listLinks(ns)).map((l) => l.name)).toEqual(['lo']);
      await removeNetns(ns);
      await svc.removeNetwork(name);
    }
    expect(iptablesLinesMentioning(cid('macvlan'))).toEqual([]);
  });
});

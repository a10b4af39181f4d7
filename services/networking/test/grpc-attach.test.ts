// Containers attached over gRPC, the agent running the CNI plugins: a
// published port reached from the host, two containers resolving each other
// by name through the embedded DNS server, a network in use refused, and a
// detach that leaves no veth, netns, IPAM reservation or iptables rule.
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networking, types } from '@berth/api';
import { listCachedAttachments, listLinks, listNetns, removeBridge, removeNetns } from '@berth/cni';
import { call, callError, startHarness, type Harness } from './grpc-harness.js';
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
// the agent names a container's netns <prefix><container id>; prefix and ids are this suite's own
const nsPrefix = `bga${id}-`;
const defaultBridge = `bgd${id}`;
const appBridge = `bgu${id}`;
const defaultSubnet = pickTestSubnet();
let appSubnet = pickTestSubnet();
while (appSubnet === defaultSubnet) appSubnet = pickTestSubnet();
const appNet = `app${id}`;
const appGateway = appSubnet.replace(/\.0\/24$/, '.1');
const cid = (name: string): string => `ga${id}${name}`;
const containers = ['pub', 'web', 'client'].map(cid);
const netnsOf = (container: string): string => `${nsPrefix}${container}`;

let h: Harness;
let upstream: dgram.Socket;
const servers: ChildProcess[] = [];

function ipOf(a: networking.Attachment | undefined): string {
  return a!.ips[0]!.address.replace(/\/\d+$/, '');
}

/** Containers whose ADD result the agent cached: proof that the agent ran the plugins. */
async function agentCached(): Promise<string[]> {
  const { entries } = await listCachedAttachments({ cacheDir: join(h.agentState, 'cni', 'results') });
  return entries.map((e) => e.containerId);
}

function reservedIps(network: string): string[] {
  const dir = join(h.networkingState, 'ipam', network);
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

async function newNetns(container: string): Promise<string> {
  const res = await call(h.netns.createNetns.bind(h.netns), { containerId: container });
  expect(res.netns).toEqual({ name: netnsOf(container), path: `/run/netns/${netnsOf(container)}`, containerId: container });
  return res.netns!.path;
}

const attach = (req: Partial<networking.AttachContainerRequest>) =>
  call(h.attachments.attachContainer.bind(h.attachments), networking.AttachContainerRequest.fromPartial(req), 'gtest').then((r) => r.attachment!);

beforeAll(async () => {
  for (const p of ['bridge', 'host-local', 'portmap', 'firewall', 'tuning']) requireBinary(`/usr/lib/cni/${p}`);
  requireBinary('/bin/busybox');
  // the embedded DNS server forwards unknown names here (127.0.0.1 only), never off the host
  upstream = dgram.createSocket('udp4');
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  h = await startHarness({
    netnsPrefix: nsPrefix,
    networking: {
      defaultNetwork: { bridge: defaultBridge, subnet: defaultSubnet },
      dns: { upstreams: [`127.0.0.1:${upstream.address().port}`] },
    },
  });
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  if (h) {
    for (const c of containers) {
      await call(h.attachments.detachContainer.bind(h.attachments), { containerId: c, network: '', ignoreMissing: true }).catch(() => undefined);
    }
    await call(h.networks.removeNetwork.bind(h.networks), { name: appNet }).catch(() => undefined);
    await h.stop();
  }
  for (const ns of await listNetns()) if (ns.startsWith(nsPrefix)) await removeNetns(ns).catch(() => undefined);
  for (const br of [defaultBridge, appBridge]) await removeBridge(br).catch(() => undefined);
  for (const c of containers) purgeIptablesRules(c);
  upstream?.close();
});

describe('attachments through the agent', () => {
  it('publishes -p 127.0.0.1:<port>:8080: a TCP server in the container answers on the host', async () => {
    const netnsPath = await newNetns(cid('pub'));
    const hostPort = await freePort();
    const a = await attach({
      containerId: cid('pub'),
      netnsPath,
      ports: [{ hostIp: '127.0.0.1', hostPort, containerPort: 8080, protocol: types.Protocol.TCP }],
    });
    expect(a).toMatchObject({ containerId: cid('pub'), network: 'bridge', netnsPath, interfaceName: 'eth0', nodeId: 'gnode' });
    expect(a.ports).toEqual([{ hostIp: '127.0.0.1', hostPort, containerPort: 8080, protocol: types.Protocol.TCP }]);
    expect(a.ips[0]).toMatchObject({ gateway: defaultSubnet.replace(/\.0\/24$/, '.1'), interfaceName: 'eth0' });
    expect(ipOf(a)).toMatch(new RegExp(`^${defaultSubnet.split('.').slice(0, 3).join('\\.')}\\.`));
    const inside = a.interfaces.find((i) => i.name === 'eth0');
    expect(inside?.sandbox).toBe(netnsPath);
    expect(inside?.macAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(a.interfaces.some((i) => i.name === defaultBridge)).toBe(true);
    const result = JSON.parse(a.cniResultJson.toString('utf8')) as { ips: { address: string }[] };
    expect(result.ips[0]?.address).toBe(a.ips[0]?.address);
    expect(await agentCached()).toEqual([cid('pub')]);

    servers.push(await startNetnsServer(netnsOf(cid('pub')), 8080, 'published through the agent'));
    expect(await tcpRead('127.0.0.1', hostPort)).toBe('published through the agent');

    const checks = await call(h.attachments.checkAttachments.bind(h.attachments), { containerId: cid('pub'), network: '' });
    expect(checks.checks).toEqual([{ network: 'bridge', ok: true, error: '' }]);
    const listed = await call(h.attachments.listAttachments.bind(h.attachments), { filters: [`container=${cid('pub')}`] });
    expect(listed.attachments).toHaveLength(1);
    expect(listed.attachments[0]?.cniResultJson.equals(a.cniResultJson)).toBe(true);

    const taken = await callError(
      h.attachments.attachContainer.bind(h.attachments),
      networking.AttachContainerRequest.fromPartial({
        containerId: cid('web'),
        netnsPath,
        ports: [{ hostIp: '127.0.0.1', hostPort, containerPort: 80 }],
      }),
    );
    expect(taken.code).toBe(status.FAILED_PRECONDITION);
    expect(taken.details).toContain(`host port 127.0.0.1:${hostPort}/tcp is already published`);

    const created = await h.waitForEvent((e) => e.type === 'networks.created' && (e.payload as { name?: string }).name === 'bridge', 'networks.created (default network)');
    expect(created.payload).toMatchObject({ name: 'bridge', driver: 'bridge', subnet: defaultSubnet });
    const attached = await h.waitForEvent((e) => e.type === 'networks.attached' && (e.payload as { containerId?: string }).containerId === cid('pub'), 'networks.attached');
    expect(attached.namespace).toBe('gtest');
    expect(attached.payload).toEqual({
      containerId: cid('pub'),
      network: 'bridge',
      addresses: [a.ips[0]!.address],
      ports: [{ hostIp: '127.0.0.1', hostPort, containerPort: 8080, protocol: 'PROTOCOL_TCP' }],
    });
  });

  it('two containers on a user network resolve each other by name through the embedded DNS', async () => {
    await call(
      h.networks.createNetwork.bind(h.networks),
      networking.CreateNetworkRequest.fromPartial({ name: appNet, subnet: appSubnet, options: { bridge: appBridge } }),
    );
    const web = await attach({ containerId: cid('web'), containerName: 'web', aliases: ['www'], network: appNet, netnsPath: await newNetns(cid('web')) });
    const staticIp = appSubnet.replace(/\.0\/24$/, '.50');
    const client = await attach({
      containerId: cid('client'),
      containerName: 'client',
      network: appNet,
      netnsPath: await newNetns(cid('client')),
      ipAddress: staticIp,
    });
    expect(client.ips.map((i) => i.address)).toEqual([`${staticIp}/24`]);
    expect(web.dns?.servers).toEqual([appGateway]);

    // a query from inside the client's namespace to the network's gateway
    for (const name of ['web', 'www']) {
      const r = await inNetns(netnsOf(cid('client')), ['busybox', 'nslookup', '-type=A', name, appGateway]);
      expect(r.out, name).toContain(`Address: ${ipOf(web)}`);
    }
    const back = await inNetns(netnsOf(cid('web')), ['busybox', 'nslookup', '-type=A', 'client', appGateway]);
    expect(back.out).toContain(`Address: ${ipOf(client)}`);

    const resolved = await call(h.dns.resolveName.bind(h.dns), { network: appNet, name: 'WWW' });
    expect(resolved.containers).toEqual([{ containerId: cid('web'), addresses: [ipOf(web)] }]);
    const unknown = await callError(h.dns.resolveName.bind(h.dns), { network: appNet, name: 'nosuch' });
    expect(unknown.code).toBe(status.NOT_FOUND);

    // the files the runtime bind-mounts: the embedded server as resolver, the container's own address
    const files = await call(
      h.dns.prepareContainerDns.bind(h.dns),
      networking.PrepareContainerDnsRequest.fromPartial({ containerId: cid('client'), hostname: 'client', extraHosts: ['db:10.250.9.9'] }),
    );
    expect(readFileSync(files.resolvConfPath, 'utf8')).toContain(`nameserver ${appGateway}\n`);
    expect(readFileSync(files.hostnamePath, 'utf8')).toBe('client\n');
    const hosts = readFileSync(files.hostsPath, 'utf8');
    expect(hosts).toContain(`${ipOf(client)}\tclient`);
    expect(hosts).toMatch(/10\.250\.9\.9\s+db/);

    const inUse = await callError(h.networks.removeNetwork.bind(h.networks), { name: appNet });
    expect(inUse.code).toBe(status.FAILED_PRECONDITION);
    expect(inUse.details).toBe(
      `network "${appNet}" is in use by 2 container(s): web (${cid('web').slice(0, 12)}), client (${cid('client').slice(0, 12)})`,
    );
    const inspect = await call(h.networks.getNetwork.bind(h.networks), { name: appNet });
    expect(inspect.members.map((m) => [m.containerName, m.address])).toEqual([
      ['web', web.ips[0]!.address],
      ['client', client.ips[0]!.address],
    ]);
  });

  it('detach releases everything: no veth, no IPAM reservation, no netns once removed, no iptables rule', async () => {
    expect(iptablesLinesMentioning(cid('pub')).length).toBeGreaterThan(0);
    expect(reservedIps(appNet)).toHaveLength(2);

    servers.forEach((s) => s.kill('SIGKILL'));
    const web = await call(h.attachments.detachContainer.bind(h.attachments), { containerId: cid('web'), network: appNet, ignoreMissing: false }, 'gtest');
    expect(web.detached.map((a) => [a.containerId, a.network])).toEqual([[cid('web'), appNet]]);
    // a detached container's names are gone
    expect((await inNetns(netnsOf(cid('client')), ['busybox', 'nslookup', '-type=A', 'web', appGateway])).out).toMatch(/NXDOMAIN/);
    for (const c of [cid('client'), cid('pub')]) {
      const res = await call(h.attachments.detachContainer.bind(h.attachments), { containerId: c, network: '', ignoreMissing: false }, 'gtest');
      expect(res.detached).toHaveLength(1);
    }
    await call(h.dns.removeContainerDns.bind(h.dns), { containerId: cid('client') });
    for (const c of containers) await call(h.netns.removeNetns.bind(h.netns), { containerId: c, ignoreMissing: false });

    expect((await call(h.attachments.listAttachments.bind(h.attachments), { filters: [] })).attachments).toEqual([]);
    expect((await listLinks()).filter((l) => l.master === defaultBridge || l.master === appBridge)).toEqual([]);
    expect(reservedIps('bridge')).toEqual([]);
    expect(reservedIps(appNet)).toEqual([]);
    expect((await listNetns()).filter((n) => n.startsWith(nsPrefix))).toEqual([]);
    expect((await call(h.netns.listNetns.bind(h.netns), {})).namespaces.filter((n) => n.name.startsWith(nsPrefix))).toEqual([]);
    expect(iptablesLinesMentioning(...containers)).toEqual([]);
    expect(await agentCached()).toEqual([]);

    const again = await callError(h.attachments.detachContainer.bind(h.attachments), { containerId: cid('web'), network: '', ignoreMissing: false });
    expect(again.code).toBe(status.NOT_FOUND);
    expect(again.details).toBe(`container ${cid('web')} is not attached to any network`);
    const ignored = await call(h.attachments.detachContainer.bind(h.attachments), { containerId: cid('web'), network: appNet, ignoreMissing: true });
    expect(ignored.detached).toEqual([]);

    // the user network can go now; the agent removes its bridge and host-local state
    expect(existsSync(join(h.networkingState, 'ipam', appNet))).toBe(true);
    await call(h.networks.removeNetwork.bind(h.networks), { name: appNet }, 'gtest');
    expect((await listLinks()).some((l) => l.name === appBridge)).toBe(false);
    expect(existsSync(join(h.networkingState, 'ipam', appNet))).toBe(false);
    expect(iptablesLinesMentioning(appBridge)).toEqual([]);

    for (const c of containers) {
      const ev = await h.waitForEvent((e) => e.type === 'networks.detached' && (e.payload as { containerId?: string }).containerId === c, `networks.detached ${c}`);
      expect(ev.namespace).toBe('gtest');
    }
    const removed = await h.waitForEvent((e) => e.type === 'networks.removed' && (e.payload as { name?: string }).name === appNet, 'networks.removed');
    expect(removed.namespace).toBe('gtest');
  });
});

// Real CNI through the agent, as `docker network connect/disconnect` and a
// full network use it: several networks in one netns (eth0, eth1, eth2, one
// default route), interface names picked by the service after a disconnect
// (no clash), and a tiny subnet that runs out with an error naming the network.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networking } from '@berth/api';
import { listHostLocalReservations, listNetns, removeBridge, removeNetns } from '@berth/cni';
import { call, callError, startHarness, type Harness } from './grpc-harness.js';
import { distinctSubnets, purgeIptablesRules, requireBinary, uniqueName } from './helpers.js';

const id = uniqueName('');
const cid = (name: string): string => `gm${id}${name}`;
const nsPrefix = `bgm${id}-`;
const nsOf = (container: string): string => `${nsPrefix}${container}`;
const freshSubnet = distinctSubnets();
const defaultSubnet = freshSubnet();
const nets = {
  a: { name: `a${id}`, bridge: `bma${id}`, subnet: freshSubnet() },
  b: { name: `b${id}`, bridge: `bmb${id}`, subnet: freshSubnet() },
  c: { name: `c${id}`, bridge: `bmc${id}`, subnet: freshSubnet() },
  // a /29: network, gateway, broadcast and five addresses for containers
  tiny: { name: `tiny${id}`, bridge: `bmt${id}`, subnet: freshSubnet().replace(/\/24$/, '/29') },
};
const defaultBridge = `bmd${id}`;
const tinyIds = [1, 2, 3, 4, 5, 6].map((i) => cid(`t${i}`));
const containers = [cid('multi'), ...tinyIds];

let h: Harness;

const attach = (req: Partial<networking.AttachContainerRequest>) =>
  call(h.attachments.attachContainer.bind(h.attachments), networking.AttachContainerRequest.fromPartial(req)).then((r) => r.attachment!);
const attachError = (req: Partial<networking.AttachContainerRequest>) =>
  callError(h.attachments.attachContainer.bind(h.attachments), networking.AttachContainerRequest.fromPartial(req));
const detach = (containerId: string, network: string) =>
  call(h.attachments.detachContainer.bind(h.attachments), { containerId, network, ignoreMissing: false });

async function newNetns(container: string): Promise<string> {
  return (await call(h.netns.createNetns.bind(h.netns), { containerId: container })).netns!.path;
}

/** Interfaces in a netns with their IPv4 addresses, from `ip -j addr`. */
function addressesIn(netns: string): Record<string, string[]> {
  const links = JSON.parse(execFileSync('ip', ['-n', netns, '-j', 'addr', 'show']).toString()) as {
    ifname: string;
    addr_info: { family: string; local: string; prefixlen: number }[];
  }[];
  return Object.fromEntries(links.map((l) => [l.ifname, l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)]));
}

function defaultRoutes(netns: string): string[] {
  return execFileSync('ip', ['-n', netns, '-4', 'route', 'show', 'default']).toString().trim().split('\n').filter(Boolean);
}

const inSubnet = (subnet: string) => new RegExp(`^${subnet.split('.').slice(0, 3).join('\\.')}\\.\\d+/${subnet.split('/')[1]}$`);
const gatewayOf = (subnet: string) => subnet.replace(/\.0\/\d+$/, '.1');
const ipamDir = (network: string) => join(h.networkingState, 'ipam', network);

beforeAll(async () => {
  for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) requireBinary(`/usr/lib/cni/${p}`);
  h = await startHarness({ netnsPrefix: nsPrefix, networking: { defaultNetwork: { bridge: defaultBridge, subnet: defaultSubnet }, dns: { upstreams: ['127.0.0.1:9'] } } });
  for (const n of Object.values(nets)) {
    await call(
      h.networks.createNetwork.bind(h.networks),
      networking.CreateNetworkRequest.fromPartial({ name: n.name, subnet: n.subnet, options: { bridge: n.bridge } }),
    );
  }
});

afterAll(async () => {
  if (h) {
    for (const c of containers) {
      await call(h.attachments.detachContainer.bind(h.attachments), { containerId: c, network: '', ignoreMissing: true }).catch(() => undefined);
    }
    for (const n of Object.values(nets)) await call(h.networks.removeNetwork.bind(h.networks), { name: n.name }).catch(() => undefined);
    await h.stop();
  }
  for (const ns of await listNetns()) if (ns.startsWith(nsPrefix)) await removeNetns(ns).catch(() => undefined);
  for (const br of [defaultBridge, ...Object.values(nets).map((n) => n.bridge)]) await removeBridge(br).catch(() => undefined);
  for (const c of containers) purgeIptablesRules(c);
});

describe('several networks in one network namespace', () => {
  it('eth0 on the default network, eth1 and eth2 on user networks, each with its address, and one default route (eth0)', async () => {
    const c = cid('multi');
    const netnsPath = await newNetns(c);
    const eth0 = await attach({ containerId: c, netnsPath });
    const eth1 = await attach({ containerId: c, netnsPath, network: nets.a.name });
    const eth2 = await attach({ containerId: c, netnsPath, network: nets.b.name });
    expect([eth0, eth1, eth2].map((a) => [a.network, a.interfaceName])).toEqual([
      ['bridge', 'eth0'],
      [nets.a.name, 'eth1'],
      [nets.b.name, 'eth2'],
    ]);

    const addrs = addressesIn(nsOf(c));
    expect(Object.keys(addrs).sort()).toEqual(['eth0', 'eth1', 'eth2', 'lo']);
    expect(addrs.eth0).toEqual([eth0.ips[0]!.address]);
    expect(addrs.eth0![0]).toMatch(inSubnet(defaultSubnet));
    expect(addrs.eth1).toEqual([eth1.ips[0]!.address]);
    expect(addrs.eth1![0]).toMatch(inSubnet(nets.a.subnet));
    expect(addrs.eth2![0]).toMatch(inSubnet(nets.b.subnet));
    expect(defaultRoutes(nsOf(c))).toEqual([`default via ${gatewayOf(defaultSubnet)} dev eth0`]);
  }, 180_000);

  it('after a disconnect of eth1, a connect without an interface name gets eth1 again; a taken name is refused', async () => {
    const c = cid('multi');
    const netnsPath = `/run/netns/${nsOf(c)}`;
    const gone = await detach(c, nets.a.name);
    expect(gone.detached.map((a) => a.interfaceName)).toEqual(['eth1']);
    expect(Object.keys(addressesIn(nsOf(c))).sort()).toEqual(['eth0', 'eth2', 'lo']);
    expect(await listHostLocalReservations(ipamDir(nets.a.name))).toEqual([]);

    const again = await attach({ containerId: c, netnsPath, network: nets.c.name, interfaceName: '' });
    expect(again.interfaceName).toBe('eth1');
    const addrs = addressesIn(nsOf(c));
    expect(Object.keys(addrs).sort()).toEqual(['eth0', 'eth1', 'eth2', 'lo']);
    expect(addrs.eth1![0]).toMatch(inSubnet(nets.c.subnet));

    const taken = await attachError({ containerId: c, netnsPath, network: nets.a.name, interfaceName: 'eth2' });
    expect(taken.code).toBe(status.FAILED_PRECONDITION);
    expect(taken.details).toBe(`container ${c} already has an interface eth2`);
    const listed = await call(h.attachments.listAttachments.bind(h.attachments), { filters: [`container=${c}`] });
    expect(listed.attachments.map((a) => [a.network, a.interfaceName]).sort()).toEqual([
      ['bridge', 'eth0'],
      [nets.b.name, 'eth2'],
      [nets.c.name, 'eth1'],
    ].sort());

    const fourth = await attach({ containerId: c, netnsPath, network: nets.a.name });
    expect(fourth.interfaceName).toBe('eth3');
    expect(Object.keys(addressesIn(nsOf(c))).sort()).toEqual(['eth0', 'eth1', 'eth2', 'eth3', 'lo']);
    expect(defaultRoutes(nsOf(c))).toEqual([`default via ${gatewayOf(defaultSubnet)} dev eth0`]);

    const all = await call(h.attachments.detachContainer.bind(h.attachments), { containerId: c, network: '', ignoreMissing: false });
    expect(all.detached).toHaveLength(4);
    expect(Object.keys(addressesIn(nsOf(c)))).toEqual(['lo']);
  }, 180_000);
});

describe('IPAM exhaustion', () => {
  it('a /29 holds five containers; the sixth is refused naming the network, and a reservation host-local holds elsewhere is explained the same way', async () => {
    const tiny = nets.tiny;
    const got: string[] = [];
    for (const c of tinyIds.slice(0, 5)) {
      const a = await attach({ containerId: c, netnsPath: await newNetns(c), network: tiny.name });
      got.push(a.ips[0]!.address);
    }
    const base = tiny.subnet.replace(/\.0\/29$/, '');
    expect(got.sort()).toEqual([2, 3, 4, 5, 6].map((i) => `${base}.${i}/29`));

    const sixth = tinyIds[5]!;
    const netnsPath = await newNetns(sixth);
    const full = await attachError({ containerId: sixth, netnsPath, network: tiny.name });
    expect(full.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(full.details).toBe(`network "${tiny.name}" has no free IP addresses left: all 5 addresses of ${tiny.subnet} are in use`);
    expect(Object.keys(addressesIn(nsOf(sixth)))).toEqual(['lo']);
    expect((await call(h.attachments.listAttachments.bind(h.attachments), { filters: [`container=${sixth}`] })).attachments).toEqual([]);

    // one address comes free, but host-local finds it reserved (by something outside berth's records)
    const freed = (await detach(tinyIds[4]!, tiny.name)).detached[0]!.ips[0]!.address.replace(/\/29$/, '');
    writeFileSync(join(ipamDir(tiny.name), freed), 'outside-berth\r\neth0');
    const refused = await attachError({ containerId: sixth, netnsPath, network: tiny.name });
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(
      new RegExp(`^network "${tiny.name}" has no free IP addresses left \\(${tiny.subnet.replace(/\./g, '\\.')}\\): .*no IP addresses available in range set`),
    );
    expect(Object.keys(addressesIn(nsOf(sixth)))).toEqual(['lo']);
    expect((await listHostLocalReservations(ipamDir(tiny.name))).map((r) => r.containerId).sort()).toEqual(
      ['outside-berth', ...tinyIds.slice(0, 4)].sort(),
    );

    for (const c of tinyIds.slice(0, 4)) await detach(c, tiny.name);
    await call(h.networks.removeNetwork.bind(h.networks), { name: tiny.name });
    expect(await listHostLocalReservations(ipamDir(tiny.name))).toEqual([]);
    for (const c of tinyIds) await call(h.netns.removeNetns.bind(h.netns), { containerId: c, ignoreMissing: false });
  }, 180_000);
});

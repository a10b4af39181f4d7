// Real CNI plugins from /usr/lib/cni on a bridge of this test's own, in a
// subnet chosen to clash with nothing on the host.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/process.js';
import {
  CniPluginError,
  cniAdd,
  cniCheck,
  cniDel,
  createNetns,
  getCachedAttachment,
  linkExists,
  listLinks,
  removeBridge,
  removeNetns,
  type CniConfig,
  type CniResult,
  type NetworkConfigList,
} from '../src/index.js';
import {
  freePort,
  iptablesLinesMentioning,
  pickTestSubnet,
  purgeIptablesRules,
  requireBinary,
  startNetnsServer,
  tcpRead,
  uniqueName,
} from './helpers.js';

const id = uniqueName('');
const bridge = `bt${id}`;
const netns = `bns${id}`;
const network = `bnet${id}`;
const containerId = `cnitest${id}`;
const subnet = pickTestSubnet();
let root: string;
let cfg: CniConfig;
let list: NetworkConfigList;
let result: CniResult;
let containerIp: string;
let hostPort: number;
let server: ChildProcess | undefined;

beforeAll(async () => {
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'firewall']) requireBinary(`/usr/lib/cni/${p}`);
  root = mkdtempSync(join(tmpdir(), 'berth-cni-br-'));
  cfg = { cacheDir: join(root, 'cache') };
  list = {
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        capabilities: { ips: true, mac: true },
        ipam: { type: 'host-local', dataDir: join(root, 'ipam'), ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'loopback' },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall', ingressPolicy: 'same-bridge' },
    ],
  };
  hostPort = await freePort();
  await createNetns(netns);
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await cniDel(list, { containerId, netns, ifname: 'eth0' }, cfg).catch(() => undefined);
  await removeNetns(netns).catch(() => undefined);
  await removeBridge(bridge).catch(() => undefined);
  purgeIptablesRules(containerId);
  rmSync(root, { recursive: true, force: true });
});

function reservedIps(): string[] {
  const dir = join(root, 'ipam', network);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

describe('bridge + host-local + loopback + portmap + firewall', () => {
  it('ADD gives the container an address on the bridge and caches the result', async () => {
    result = await cniAdd(
      list,
      {
        containerId,
        netns,
        ifname: 'eth0',
        capabilityArgs: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp', hostIP: '127.0.0.1' }] },
      },
      cfg,
    );
    const eth0 = result.interfaces?.findIndex((i) => i.name === 'eth0' && i.sandbox === `/run/netns/${netns}`);
    expect(eth0).toBeGreaterThanOrEqual(0);
    const ip = result.ips?.find((i) => i.interface === eth0);
    expect(ip?.address).toMatch(new RegExp(`^${subnet.split('.').slice(0, 3).join('\\.')}\\.\\d+/24$`));
    containerIp = ip!.address.split('/')[0]!;
    expect(ip?.gateway).toBe(subnet.replace(/\.0\/24$/, '.1'));

    const inside = await runProcess('ip', ['-n', netns, '-j', 'addr', 'show', 'eth0']);
    expect(inside.stdout).toContain(`"local":"${containerIp}"`);
    expect((await listLinks()).find((l) => l.name === bridge)?.kind).toBe('bridge');
    expect(reservedIps()).toEqual([containerIp]);
    expect(readFileSync(join(root, 'ipam', network, containerIp), 'utf8')).toContain(containerId);
    expect((await getCachedAttachment({ networkName: network, containerId, ifname: 'eth0' }, cfg))?.result).toEqual(result);
  });

  it('the host reaches a TCP server in the netns directly and through portmap on 127.0.0.1', async () => {
    server = await startNetnsServer(netns, 8080, 'hello from the netns');
    expect(await tcpRead(containerIp, 8080)).toBe('hello from the netns');
    expect(await tcpRead('127.0.0.1', hostPort)).toBe('hello from the netns');
    // what makes 127.0.0.1 work: portmap turned on route_localnet for the bridge
    expect(readFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8').trim()).toBe('1');
    expect(iptablesLinesMentioning(containerId).length).toBeGreaterThan(0);
  });

  it('CHECK passes, then fails with the plugin error once the veth is gone', async () => {
    // portmap 1.1.1's CHECK looks for IPv6 rules of an IPv4-only container
    // (containernetworking/plugins#819), so CHECK runs without portMappings.
    await cniCheck(list, { containerId, netns, ifname: 'eth0', capabilityArgs: {} }, cfg);
    await runProcess('ip', ['-n', netns, 'link', 'del', 'eth0']);
    const err = await cniCheck(list, { containerId, netns, ifname: 'eth0', capabilityArgs: {} }, cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as CniPluginError).plugin).toBe('bridge');
    expect((err as CniPluginError).command).toBe('CHECK');
    expect((err as CniPluginError).msg).toMatch(/eth0/);
  });

  // The veth vanished before this DEL (previous test): the bridge plugin alone
  // would leave the container's masquerade rules behind; cniDel sweeps them.
  it('DEL (with capability args from the cache) releases the IP and removes every rule of the container', async () => {
    server?.kill('SIGKILL');
    server = undefined;
    await cniDel(list, { containerId, netns, ifname: 'eth0' }, cfg);
    expect(reservedIps()).toEqual([]);
    expect(await getCachedAttachment({ networkName: network, containerId, ifname: 'eth0' }, cfg)).toBeUndefined();
    expect(iptablesLinesMentioning(containerId, `${containerIp}/32`, `-d ${containerIp}`, `:${hostPort}`)).toEqual([]);
    const hostVeths = (await listLinks()).filter((l) => l.master === bridge);
    expect(hostVeths).toEqual([]);
    // tolerant of being repeated
    await cniDel(list, { containerId, netns, ifname: 'eth0' }, cfg);
  });

  it('a static IP through the ips capability, then the bridge is removed with its isolation rules', async () => {
    const staticIp = subnet.replace(/\.0\/24$/, '.77');
    const r = await cniAdd(list, { containerId, netns, ifname: 'eth0', capabilityArgs: { ips: [`${staticIp}/24`], mac: '02:42:0a:00:00:77' } }, cfg);
    expect(r.ips?.[0]?.address).toBe(`${staticIp}/24`);
    expect(r.interfaces?.find((i) => i.name === 'eth0')?.mac).toBe('02:42:0a:00:00:77');
    expect(reservedIps()).toEqual([staticIp]);
    await cniDel(list, { containerId, netns, ifname: 'eth0' }, cfg);
    expect(reservedIps()).toEqual([]);

    expect(await removeNetns(netns)).toBe(true);
    expect(iptablesLinesMentioning(bridge).length).toBeGreaterThan(0);
    expect(await removeBridge(bridge)).toEqual({ deleted: true, rulesRemoved: 2 });
    expect(await linkExists(bridge)).toBe(false);
    expect(iptablesLinesMentioning(bridge, containerId)).toEqual([]);
  });
});

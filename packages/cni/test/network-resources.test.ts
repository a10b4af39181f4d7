// What a removed network leaves on the node, removed for real: a bridge the
// bridge plugin made, its firewall isolation rules, and host-local's state
// directory after a real ADD and DEL. Whatever is not a bridge or not
// host-local's is refused, and nothing is removed then.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_NETNS_PREFIX,
  ForeignResourceError,
  HOST_LOCAL_DEFAULT_DATA_DIR,
  cniAdd,
  cniDel,
  containerNetnsName,
  containerOfNetns,
  createNetns,
  deleteLink,
  hostLocalStateDir,
  linkExists,
  listHostLocalReservations,
  networkHostResources,
  removeBridge,
  removeNetns,
  removeNetworkResources,
  type NetworkConfigList,
} from '../src/index.js';
import { iptablesLinesMentioning, pickTestSubnet, purgeIptablesRules, requireBinary, uniqueName } from './helpers.js';

const id = uniqueName('');
const bridge = `bnr${id}`;
const vethName = `bnv${id}`;
const netns = `bnrns${id}`;
const network = `bnrnet${id}`;
const containerId = `nrtest${id}`;
let root: string;
let list: NetworkConfigList;

beforeAll(async () => {
  for (const p of ['bridge', 'host-local', 'firewall']) requireBinary(`/usr/lib/cni/${p}`);
  root = mkdtempSync(join(tmpdir(), 'berth-cni-nr-'));
  list = {
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', dataDir: join(root, 'ipam'), ranges: [[{ subnet: pickTestSubnet() }]] } },
      { type: 'firewall', backend: 'iptables', ingressPolicy: 'same-bridge' },
    ],
  };
  await createNetns(netns);
});

afterAll(async () => {
  await cniDel(list, { containerId, netns, ifname: 'eth0' }, { cacheDir: join(root, 'cache') }).catch(() => undefined);
  await removeNetns(netns).catch(() => undefined);
  await removeBridge(bridge).catch(() => undefined);
  await deleteLink(vethName).catch(() => undefined);
  purgeIptablesRules(bridge);
  purgeIptablesRules(containerId);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('network host resources', () => {
  it('are read from the conflist: named bridges and <dataDir>/<network>', () => {
    expect(networkHostResources(list)).toEqual({ bridges: [bridge], ipamDirs: [join(root, 'ipam', network)] });
    const plain: NetworkConfigList = { cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }] };
    // an unnamed bridge is the shared cni0: never this network's
    expect(networkHostResources(plain)).toEqual({ bridges: [], ipamDirs: [join(HOST_LOCAL_DEFAULT_DATA_DIR, 'n1')] });
    expect(hostLocalStateDir({ cniVersion: '1.0.0', name: 'm', plugins: [{ type: 'macvlan', ipam: { type: 'dhcp' } }] })).toBeUndefined();
    expect(() => hostLocalStateDir({ cniVersion: '1.0.0', name: '../x', plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }] })).toThrow(
      /invalid CNI network name "..\/x"/,
    );
  });

  it('are removed after a real ADD and DEL: bridge, isolation rules and host-local state', async () => {
    const cfg = { cacheDir: join(root, 'cache') };
    const result = await cniAdd(list, { containerId, netns, ifname: 'eth0' }, cfg);
    const address = result.ips![0]!.address.replace(/\/\d+$/, '');
    const dir = join(root, 'ipam', network);
    expect(await listHostLocalReservations(dir)).toEqual([{ address, containerId, ifname: 'eth0' }]);
    await cniDel(list, { containerId, netns, ifname: 'eth0' }, cfg);
    expect(await listHostLocalReservations(dir)).toEqual([]);
    // what DEL leaves: the bridge, its isolation rules, host-local's lock and last-reserved files
    expect(await linkExists(bridge)).toBe(true);
    expect(iptablesLinesMentioning(bridge).length).toBeGreaterThan(0);
    expect(readdirSync(dir).length).toBeGreaterThan(0);

    const removed = await removeNetworkResources(list);
    expect(removed.bridgesRemoved).toEqual([bridge]);
    expect(removed.ipamDirsRemoved).toEqual([dir]);
    expect(removed.firewallRulesRemoved).toBeGreaterThan(0);
    expect(await linkExists(bridge)).toBe(false);
    expect(iptablesLinesMentioning(bridge)).toEqual([]);
    expect(existsSync(dir)).toBe(false);

    // again: nothing left to remove, and that is no error
    expect(await removeNetworkResources(list)).toEqual({ bridgesRemoved: [], firewallRulesRemoved: 0, ipamDirsRemoved: [] });
  });

  it('refuses a device that is not a bridge and a directory host-local did not write, removing nothing', async () => {
    execFileSync('ip', ['link', 'add', vethName, 'type', 'veth', 'peer', 'name', `${vethName}p`]);
    const dir = join(root, 'ipam', network);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '10.1.2.3'), `${containerId}\r\neth0`);
    const asVeth: NetworkConfigList = { ...list, plugins: [{ ...list.plugins[0]!, bridge: vethName }] };
    const notBridge = await removeNetworkResources(asVeth).catch((e: unknown) => e);
    expect(notBridge).toBeInstanceOf(ForeignResourceError);
    expect((notBridge as Error).message).toBe(`host interface ${vethName} is a veth device, not a bridge: it is left alone`);
    expect(await linkExists(vethName)).toBe(true);
    expect(existsSync(join(dir, '10.1.2.3'))).toBe(true);

    writeFileSync(join(dir, 'passwd'), 'root:x:0:0\n');
    mkdirSync(join(dir, 'sub'));
    await expect(removeNetworkResources(list)).rejects.toThrow(
      `${dir} is not a host-local IPAM state directory: it holds "passwd", "sub", which host-local never writes`,
    );
    expect(readdirSync(dir).sort()).toEqual(['10.1.2.3', 'passwd', 'sub']);
  });
});

describe('container netns names', () => {
  it('are <prefix><container id>, and only those map back to a container', () => {
    expect(DEFAULT_NETNS_PREFIX).toBe('berth-');
    expect(containerNetnsName('berth-', 'abc123')).toBe('berth-abc123');
    expect(containerOfNetns('berth-', 'berth-abc123')).toBe('abc123');
    expect(containerOfNetns('berth-', 'berth-')).toBeUndefined();
    expect(containerOfNetns('berth-', 'cni-1234')).toBeUndefined();
    expect(() => containerNetnsName('berth-', '../x')).toThrow(/invalid CNI container id/);
    expect(() => containerNetnsName('a/b', 'abc')).toThrow(/invalid netns prefix "a\/b"/);
  });
});

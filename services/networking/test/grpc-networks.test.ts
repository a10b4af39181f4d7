// Networks over gRPC (create, overlap and bad input, list with filters,
// inspect, remove, prune, events on NATS), the node's resolv.conf and hosts
// taken from the configured paths, and the agent's Netns and Cni APIs with
// their errors, all against running services.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networking } from '@berth/api';
import { deleteLink, linkExists, listNetns, removeBridge, removeNetns } from '@berth/cni';
import { call, callError, startHarness, type Harness } from './grpc-harness.js';
import { distinctSubnets, uniqueName } from './helpers.js';

const id = uniqueName('');
const prefix = `bgn${id}-`;
const bridges = { d: `bgd${id}`, a: `bga${id}`, b: `bgb${id}`, p1: `bgp${id}`, p2: `bgq${id}` };
const freshSubnet = distinctSubnets();

const veth = `bgv${id}`;
const nsPrefix = `bnn${id}-`;
let h: Harness;
let nodeFiles: string;

beforeAll(async () => {
  // the node's files as the helm chart mounts them: somewhere else than /etc
  nodeFiles = mkdtempSync(join(tmpdir(), 'bgn-node-'));
  writeFileSync(join(nodeFiles, 'resolv.conf'), 'nameserver 10.250.8.8\nsearch node.example\n');
  writeFileSync(join(nodeFiles, 'hosts'), '127.0.0.1 localhost\n10.250.8.9 nodehost\n');
  h = await startHarness({
    netnsPrefix: nsPrefix,
    networking: {
      defaultNetwork: { bridge: `bgd${id}` },
      hostResolvConfPath: join(nodeFiles, 'resolv.conf'),
      hostHostsPath: join(nodeFiles, 'hosts'),
    },
  });
});

afterAll(async () => {
  await h?.stop();
  for (const ns of await listNetns()) if (ns.startsWith(nsPrefix)) await removeNetns(ns).catch(() => undefined);
  for (const br of Object.values(bridges)) await removeBridge(br).catch(() => undefined);
  await deleteLink(veth).catch(() => undefined);
  if (nodeFiles) rmSync(nodeFiles, { recursive: true, force: true });
});

const create = (req: Partial<networking.CreateNetworkRequest>, namespace?: string) =>
  call(h.networks.createNetwork.bind(h.networks), networking.CreateNetworkRequest.fromPartial(req), namespace);

describe('Networks API', () => {
  it('creates, lists, inspects and removes a network, announcing it on NATS', async () => {
    const subnet = freshSubnet();
    const name = `app${id}`;
    const created = await create({ name, subnet, labels: { suite: id }, options: { bridge: bridges.a, mtu: '1400' } }, 'gtest');
    const net = created.network!;
    expect(net).toMatchObject({
      name,
      driver: 'bridge',
      subnet,
      gateway: subnet.replace(/\.0\/24$/, '.1'),
      ipRange: '',
      internal: false,
      labels: { suite: id },
      interfaceName: bridges.a,
      builtin: false,
    });
    expect(net.id).toMatch(/^[0-9a-f]{64}$/);
    expect(net.options).toMatchObject({ mtu: '1400', bridge: bridges.a });
    const conflist = JSON.parse(net.conflistJson.toString('utf8')) as { name: string; plugins: { type: string; bridge?: string }[] };
    expect(conflist.name).toBe(name);
    expect(conflist.plugins[0]).toMatchObject({ type: 'bridge', bridge: bridges.a });
    expect(conflist.plugins.map((p) => p.type)).toContain('portmap');

    const list = (filters: string[]) =>
      call(h.networks.listNetworks.bind(h.networks), { filters }).then((r) => r.networks.map((n) => n.name));
    expect(await list([])).toEqual(expect.arrayContaining(['host', 'none', name]));
    expect(await list([`name=app${id}`])).toEqual([name]);
    expect(await list([`label=suite=${id}`])).toEqual([name]);
    expect(await list(['label=suite=other'])).toEqual([]);
    expect(await list(['type=builtin'])).toEqual(['host', 'none']);
    expect(await list(['type=custom', 'driver=bridge'])).toEqual([name]);
    expect(await list([`id=${net.id.slice(0, 12)}`])).toEqual([name]);

    const byPrefix = await call(h.networks.getNetwork.bind(h.networks), { name: net.id.slice(0, 12) });
    expect(byPrefix.network?.name).toBe(name);
    expect(byPrefix.members).toEqual([]);

    await call(h.networks.removeNetwork.bind(h.networks), { name }, 'gtest');
    const gone = await callError(h.networks.getNetwork.bind(h.networks), { name });
    expect(gone.code).toBe(status.NOT_FOUND);
    expect(gone.details).toBe(`network "${name}" not found`);

    const createdEv = await h.waitForEvent((e) => e.type === 'networks.created' && (e.payload as { name?: string }).name === name, 'networks.created');
    expect(createdEv.namespace).toBe('gtest');
    expect(createdEv.source).toBe('networking');
    expect(createdEv.payload).toEqual({ id: net.id, name, driver: 'bridge', subnet });
    const removedEv = await h.waitForEvent((e) => e.type === 'networks.removed' && (e.payload as { name?: string }).name === name, 'networks.removed');
    expect(removedEv.payload).toEqual({ id: net.id, name });
  });

  it('refuses a subnet overlapping another network, naming that network, and creates nothing', async () => {
    const subnet = freshSubnet();
    const first = (await create({ name: `first${id}`, subnet, options: { bridge: bridges.b } })).network!;
    const inside = subnet.replace(/\.0\/24$/, '.128/25');
    const err = await callError(h.networks.createNetwork.bind(h.networks), networking.CreateNetworkRequest.fromPartial({ name: `second${id}`, subnet: inside }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toBe(`subnet ${inside} of network "second${id}" overlaps subnet ${subnet} of network "first${id}" (${first.id.slice(0, 12)})`);
    const names = (await call(h.networks.listNetworks.bind(h.networks), { filters: [] })).networks.map((n) => n.name);
    expect(names).not.toContain(`second${id}`);
    await call(h.networks.removeNetwork.bind(h.networks), { name: `first${id}` });
  });

  it('answers bad input with INVALID_ARGUMENT naming it, a taken name with ALREADY_EXISTS', async () => {
    const bad = async (req: Partial<networking.CreateNetworkRequest>) =>
      callError(h.networks.createNetwork.bind(h.networks), networking.CreateNetworkRequest.fromPartial(req));

    const cidr = await bad({ name: `bad${id}`, subnet: '10.250.0.0/33' });
    expect(cidr.code).toBe(status.INVALID_ARGUMENT);
    expect(cidr.details).toContain('10.250.0.0/33');
    const notCidr = await bad({ name: `bad${id}`, subnet: 'not-a-cidr' });
    expect(notCidr.code).toBe(status.INVALID_ARGUMENT);
    expect(notCidr.details).toContain('not-a-cidr');
    const hostBits = await bad({ name: `bad${id}`, subnet: '10.250.0.1/24' });
    expect(hostBits.code).toBe(status.INVALID_ARGUMENT);
    expect(hostBits.details).toContain('10.250.0.1/24');
    const gw = await bad({ name: `bad${id}`, gateway: '10.250.0.1' });
    expect(gw.code).toBe(status.INVALID_ARGUMENT);
    expect(gw.details).toBe(`network "bad${id}": a gateway or ip-range needs a subnet`);
    const option = await bad({ name: `bad${id}`, subnet: freshSubnet(), options: { colour: 'blue' } });
    expect(option.code).toBe(status.INVALID_ARGUMENT);
    expect(option.details).toContain('unknown network option "colour"');
    const name = await bad({ name: 'no spaces' });
    expect(name.code).toBe(status.INVALID_ARGUMENT);
    expect(name.details).toContain('"no spaces"');

    const taken = await bad({ name: 'none' });
    expect(taken.code).toBe(status.INVALID_ARGUMENT);
    expect(taken.details).toBe('network name "none" is reserved');

    const subnet = freshSubnet();
    await create({ name: `dup${id}`, subnet, options: { bridge: bridges.b } });
    const dup = await bad({ name: `dup${id}`, subnet: freshSubnet() });
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    expect(dup.details).toBe(`network "dup${id}" already exists`);
    await call(h.networks.removeNetwork.bind(h.networks), { name: `dup${id}` });

    const filter = await callError(h.networks.listNetworks.bind(h.networks), { filters: ['colour=blue'] });
    expect(filter.code).toBe(status.INVALID_ARGUMENT);
    expect(filter.details).toBe('unknown filter key "colour" (known: name, id, driver, label, type)');
    const builtin = await callError(h.networks.removeNetwork.bind(h.networks), { name: 'host' });
    expect(builtin.code).toBe(status.FAILED_PRECONDITION);
    expect(builtin.details).toBe('network "host" is built in and cannot be removed');
    const missing = await callError(h.networks.removeNetwork.bind(h.networks), { name: `nosuch${id}` });
    expect(missing.code).toBe(status.NOT_FOUND);
    const namespace = await callError(h.networks.listNetworks.bind(h.networks), { filters: [] }, 'no.dots');
    expect(namespace.code).toBe(status.INVALID_ARGUMENT);
    expect(namespace.details).toContain('berth-namespace');
  });

  it('prunes the unused user networks a label selects', async () => {
    await create({ name: `p1${id}`, subnet: freshSubnet(), labels: { prune: id }, options: { bridge: bridges.p1 } });
    await create({ name: `p2${id}`, subnet: freshSubnet(), labels: { prune: 'keep' }, options: { bridge: bridges.p2 } });
    const res = await call(h.networks.pruneNetworks.bind(h.networks), { filters: [`label=prune=${id}`] });
    expect(res.removed).toEqual([`p1${id}`]);
    const names = (await call(h.networks.listNetworks.bind(h.networks), { filters: ['label=prune'] })).networks.map((n) => n.name);
    expect(names).toEqual([`p2${id}`]);
    await call(h.networks.removeNetwork.bind(h.networks), { name: `p2${id}` });
  });
});

describe('Dns API without CNI', () => {
  it('gives a host-network container the node files it is configured with, and a container without attachments loopback-only files', async () => {
    const containerId = `gh${id}`;
    const res = await call(
      h.dns.prepareContainerDns.bind(h.dns),
      networking.PrepareContainerDnsRequest.fromPartial({ containerId, hostNetwork: true, extraHosts: ['db:10.250.9.9'] }),
    );
    expect(readFileSync(res.resolvConfPath, 'utf8')).toBe('nameserver 10.250.8.8\nsearch node.example\n');
    expect(readFileSync(res.hostsPath, 'utf8')).toBe('127.0.0.1 localhost\n10.250.8.9 nodehost\n10.250.9.9\tdb\n');
    await call(h.dns.removeContainerDns.bind(h.dns), { containerId });
    expect(existsSync(res.hostsPath)).toBe(false);

    const none = await call(h.dns.prepareContainerDns.bind(h.dns), networking.PrepareContainerDnsRequest.fromPartial({ containerId }));
    expect(readFileSync(none.hostsPath, 'utf8')).toMatch(/127\.0\.0\.1\s+localhost/);
    expect(readFileSync(none.hostsPath, 'utf8')).not.toContain('10.250.9.9');
    expect(readFileSync(none.hostsPath, 'utf8')).not.toContain('nodehost');
    // the node's resolvers (no loopback one here), search domain kept
    expect(readFileSync(none.resolvConfPath, 'utf8')).toBe('# Generated by berth\nsearch node.example\nnameserver 10.250.8.8\n');
    await call(h.dns.removeContainerDns.bind(h.dns), { containerId });
    const badId = await callError(h.dns.removeContainerDns.bind(h.dns), { containerId: '../x' });
    expect(badId.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('agent Netns API', () => {
  it('names a container\'s namespace <prefix><container id>, lists and removes it by container id, with clear errors', async () => {
    const containerId = `${prefix}ns`;
    const name = `${nsPrefix}${containerId}`;
    const created = await call(h.netns.createNetns.bind(h.netns), { containerId });
    expect(created.netns).toEqual({ name, path: `/run/netns/${name}`, containerId });
    expect(execFileSync('ip', ['netns', 'list']).toString()).toMatch(new RegExp(`^${name}\\b`, 'm'));
    const listed = await call(h.netns.listNetns.bind(h.netns), {});
    expect(listed.namespaces).toContainEqual({ name, path: `/run/netns/${name}`, containerId });
    expect(listed.namespaces.every((n) => n.name === `${nsPrefix}${n.containerId}`)).toBe(true);

    const again = await callError(h.netns.createNetns.bind(h.netns), { containerId });
    expect(again.code).toBe(status.ALREADY_EXISTS);
    expect(again.details).toBe(`container ${containerId} already has a network namespace: "${name}" at /run/netns/${name}`);
    const badId = await callError(h.netns.createNetns.bind(h.netns), { containerId: '../etc' });
    expect(badId.code).toBe(status.INVALID_ARGUMENT);
    expect(badId.details).toBe('CreateNetns: container_id: invalid CNI container id "../etc": must start with a letter or digit and contain only letters, digits, \'_\', \'.\', \'-\' (at most 255)');
    const empty = await callError(h.netns.removeNetns.bind(h.netns), { containerId: '', ignoreMissing: true });
    expect(empty.code).toBe(status.INVALID_ARGUMENT);

    await call(h.netns.removeNetns.bind(h.netns), { containerId, ignoreMissing: false });
    expect(await listNetns()).not.toContain(name);
    const missing = await callError(h.netns.removeNetns.bind(h.netns), { containerId, ignoreMissing: false });
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe(`container ${containerId} has no network namespace (no /run/netns/${name})`);
    await call(h.netns.removeNetns.bind(h.netns), { containerId, ignoreMissing: true });
  });
});

describe('agent Cni API', () => {
  const runtime = (netnsPath: string) => ({ containerId: `gc${id}`, netnsPath, ifname: 'eth0', args: {}, capabilityArgsJson: Buffer.alloc(0) });
  const conflist = (plugins: object[]) => Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: `cni${id}`, plugins }));

  it('refuses a broken request before running any plugin', async () => {
    const notJson = await callError(h.cni.addNetworkList.bind(h.cni), { conflistJson: Buffer.from('{'), runtime: runtime(`/run/netns/${prefix}x`) });
    expect(notJson.code).toBe(status.INVALID_ARGUMENT);
    expect(notJson.details).toMatch(/^AddNetworkList: conflist_json: CNI conflist is not valid JSON/);
    const noPlugins = await callError(h.cni.addNetworkList.bind(h.cni), { conflistJson: conflist([]), runtime: runtime(`/run/netns/${prefix}x`) });
    expect(noPlugins.code).toBe(status.INVALID_ARGUMENT);
    expect(noPlugins.details).toBe(`AddNetworkList: conflist_json: CNI conflist "cni${id}": "plugins" must be a non-empty array`);
    const noNetns = await callError(h.cni.addNetworkList.bind(h.cni), {
      conflistJson: conflist([{ type: 'loopback' }]),
      runtime: runtime(`/run/netns/${prefix}absent`),
    });
    expect(noNetns.code).toBe(status.NOT_FOUND);
    expect(noNetns.details).toBe(`AddNetworkList: network namespace /run/netns/${prefix}absent does not exist`);
    const noRuntime = await callError(h.cni.delNetworkList.bind(h.cni), { conflistJson: conflist([{ type: 'loopback' }]), prevResultJson: Buffer.alloc(0) });
    expect(noRuntime.code).toBe(status.INVALID_ARGUMENT);
    expect(noRuntime.details).toBe('DelNetworkList: runtime is missing');
    const neverAdded = await callError(h.cni.checkNetworkList.bind(h.cni), {
      conflistJson: conflist([{ type: 'loopback' }]),
      runtime: runtime(`/run/netns/${prefix}x`),
      prevResultJson: Buffer.alloc(0),
    });
    expect(neverAdded.code).toBe(status.FAILED_PRECONDITION);
    expect(neverAdded.details).toContain('no cached ADD result');
  });

  it('reports a plugin that is not installed and a plugin error with its CNI code and message', async () => {
    const ns = `${nsPrefix}${prefix}cni`;
    await call(h.netns.createNetns.bind(h.netns), { containerId: `${prefix}cni` });
    try {
      const missing = await callError(h.cni.addNetworkList.bind(h.cni), { conflistJson: conflist([{ type: `nosuch${id}` }]), runtime: runtime(`/run/netns/${ns}`) });
      expect(missing.code).toBe(status.FAILED_PRECONDITION);
      expect(missing.details).toContain(`nosuch${id}`);
      expect(missing.details).toContain('/usr/lib/cni');
      const missingInfo = JSON.parse(missing.metadata.get('berth-cni-error-bin')[0]!.toString()) as Record<string, unknown>;
      expect(missingInfo).toEqual({ plugin: `nosuch${id}`, command: 'ADD', reason: 'not-found' });

      // host-local refuses a range that is not a subnet
      const broken = conflist([{ type: 'bridge', bridge: `bgx${id}`, ipam: { type: 'host-local', ranges: [[{ subnet: 'bogus' }]] } }]);
      const pluginErr = await callError(h.cni.addNetworkList.bind(h.cni), { conflistJson: broken, runtime: runtime(`/run/netns/${ns}`) });
      const info = JSON.parse(pluginErr.metadata.get('berth-cni-error-bin')[0]!.toString()) as { plugin: string; command: string; code: number; msg: string };
      expect(info.plugin).toBe('bridge');
      expect(info.command).toBe('ADD');
      expect(info.code).toBe(999); // the Go plugin skeleton's internal error
      expect(info.msg).toContain('bogus');
      expect(pluginErr.details).toContain(`failed with code ${info.code}: ${info.msg}`);
      expect(pluginErr.code).toBe(status.INTERNAL);
    } finally {
      await call(h.netns.removeNetns.bind(h.netns), { containerId: `${prefix}cni`, ignoreMissing: true });
      await removeBridge(`bgx${id}`).catch(() => undefined);
    }
  });

  it('RemoveNetworkResources refuses a device that is not a bridge and a directory host-local did not write, removing nothing', async () => {
    const empty = await callError(h.cni.removeNetworkResources.bind(h.cni), { conflistJson: Buffer.alloc(0) });
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toBe('RemoveNetworkResources: conflist_json is empty');

    execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]);
    const onVeth = conflist([{ type: 'bridge', bridge: veth, ipam: { type: 'host-local', dataDir: join(nodeFiles, 'ipam') } }]);
    const notBridge = await callError(h.cni.removeNetworkResources.bind(h.cni), { conflistJson: onVeth });
    expect(notBridge.code).toBe(status.FAILED_PRECONDITION);
    expect(notBridge.details).toBe(`RemoveNetworkResources of network "cni${id}": host interface ${veth} is a veth device, not a bridge: it is left alone`);
    expect(await linkExists(veth)).toBe(true);

    const dir = join(nodeFiles, 'ipam', `cni${id}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const foreign = conflist([{ type: 'bridge', bridge: bridges.a, ipam: { type: 'host-local', dataDir: join(nodeFiles, 'ipam') } }]);
    const notIpam = await callError(h.cni.removeNetworkResources.bind(h.cni), { conflistJson: foreign });
    expect(notIpam.code).toBe(status.FAILED_PRECONDITION);
    expect(notIpam.details).toBe(
      `RemoveNetworkResources of network "cni${id}": ${dir} is not a host-local IPAM state directory: it holds "notes.txt", which host-local never writes`,
    );
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });
});

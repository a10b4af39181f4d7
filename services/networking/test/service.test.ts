// The service's decisions and records, with a stand-in executor that plays
// host-local (addresses in order) and records what it was asked to run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CniResult, NetworkConfigList, RuntimeConf } from '@berth/cni';
import {
  NetworkingError,
  NetworkingService,
  formatIp,
  parseCidr,
  type CniExecutor,
  type ContainerNetns,
  type NetworkingEvent,
  type NetworkingServiceOptions,
} from '../src/index.js';

interface Call {
  op: string;
  network?: string;
  rt?: RuntimeConf;
  name?: string;
}

class FakeExecutor implements CniExecutor {
  calls: Call[] = [];
  netns = new Set<string>();
  next = new Map<string, number>();
  failAdd: Error | undefined;

  add(conflist: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    this.calls.push({ op: 'add', network: conflist.name, rt });
    if (this.failAdd) return Promise.reject(this.failAdd);
    const ranges = (conflist.plugins[0]!.ipam as { ranges: { subnet: string; gateway: string }[][] }).ranges;
    const r = ranges[0]![0]!;
    const n = (this.next.get(conflist.name) ?? 2) + 0;
    this.next.set(conflist.name, n + 1);
    const c = parseCidr(r.subnet);
    const ip = (rt.capabilityArgs?.ips as string[] | undefined)?.[0] ?? `${formatIp({ family: 4, value: c.network + BigInt(n) })}/${c.prefix}`;
    return Promise.resolve({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'br' }, { name: 'veth1' }, { name: rt.ifname, mac: '02:00:00:00:00:01', sandbox: rt.netns }],
      ips: [{ address: ip, gateway: r.gateway, interface: 2 }],
    });
  }
  del(conflist: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    this.calls.push({ op: 'del', network: conflist.name, rt });
    return Promise.resolve();
  }
  check(conflist: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    this.calls.push({ op: 'check', network: conflist.name, rt });
    return Promise.resolve();
  }
  /** Container ids with a berth netns. */
  listNetns(): Promise<ContainerNetns[]> {
    return Promise.resolve([...this.netns].map((containerId) => ({ containerId, name: `berth-${containerId}` })));
  }
  removeNetns(containerId: string): Promise<boolean> {
    this.calls.push({ op: 'removeNetns', name: containerId });
    return Promise.resolve(this.netns.delete(containerId));
  }
  removeNetworkResources(conflist: NetworkConfigList): Promise<void> {
    this.calls.push({ op: 'removeNetworkResources', network: conflist.name });
    return Promise.resolve();
  }
}

let root: string;
let exec: FakeExecutor;
let events: NetworkingEvent[];
let svc: NetworkingService;

function options(extra: Partial<NetworkingServiceOptions> = {}): NetworkingServiceOptions {
  return {
    stateDir: join(root, 'state'),
    node: 'node1',
    executor: exec,
    defaultNetwork: { bridge: 'bttest0', subnet: '10.240.0.0/24' },
    hostRoutes: () => Promise.resolve(['192.0.2.0/24', '10.89.0.0/24']),
    hostResolvConfPath: join(root, 'resolv.conf'),
    hostHostsPath: join(root, 'hosts'),
    dns: { enabled: false },
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'berth-net-svc-'));
  writeFileSync(join(root, 'resolv.conf'), 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\n');
  writeFileSync(join(root, 'hosts'), '127.0.0.1 localhost\n10.0.0.9 buildhost\n');
  exec = new FakeExecutor();
  events = [];
  svc = await NetworkingService.open(options());
});

afterEach(async () => {
  await svc.close();
  rmSync(root, { recursive: true, force: true });
});

async function expectError(p: Promise<unknown>, code: string, msg: RegExp | string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a NetworkingError').toBeInstanceOf(NetworkingError);
  expect((err as NetworkingError).code).toBe(code);
  if (typeof msg === 'string') expect((err as Error).message).toBe(msg);
  else expect((err as Error).message).toMatch(msg);
}

describe('networks', () => {
  it('has none and host from the start, the default network on first use, and user networks', async () => {
    expect(svc.listNetworks().map((n) => [n.name, n.driver])).toEqual([
      ['none', 'null'],
      ['host', 'host'],
    ]);
    const def = await svc.ensureDefaultNetwork();
    expect(def).toMatchObject({ name: 'bridge', bridge: 'bttest0', isDefault: true, dns: false, subnets: [{ subnet: '10.240.0.0/24', gateway: '10.240.0.1' }] });
    expect((await svc.ensureDefaultNetwork()).id).toBe(def.id);
    // automatic subnet: skips the host route 10.89.0.0/24
    const web = await svc.createNetwork({ name: 'web', bridge: 'btweb', labels: { a: 'b' } });
    expect(web.subnets[0]!.subnet).toBe('10.89.1.0/24');
    const next = await svc.createNetwork({ name: 'web2', bridge: 'btweb2' });
    expect(next.subnets[0]!.subnet).toBe('10.89.2.0/24');
    expect(svc.getNetwork(web.id.slice(0, 10)).name).toBe('web');
    expect(svc.inspectNetwork('web')).toMatchObject({ name: 'web', labels: { a: 'b' }, containers: [], conflist: { name: 'web' } });
    expect(events.filter((e) => e.type === 'network.created').map((e) => (e as { network: { name: string } }).network.name)).toEqual(['bridge', 'web', 'web2']);
  });

  it('refuses overlapping, duplicate and reserved networks with the other network named', async () => {
    await svc.createNetwork({ name: 'a', bridge: 'bta', subnets: [{ subnet: '10.241.0.0/16' }] });
    await expectError(svc.createNetwork({ name: 'b', subnets: [{ subnet: '10.241.128.0/24' }] }), 'conflict', /overlaps subnet 10.241.0.0\/16 of network "a"/);
    await expectError(svc.createNetwork({ name: 'a' }), 'already-exists', 'network "a" already exists');
    await expectError(svc.createNetwork({ name: 'bridge' }), 'invalid-argument', /reserved for the default network/);
    await expectError(svc.createNetwork({ name: 'host' }), 'invalid-argument', /reserved/);
    expect(svc.listNetworks().map((n) => n.name)).toEqual(['none', 'host', 'a']);
  });

  it('removes a network and (through the executor) its node resources; refuses built-ins, unknown names and networks in use', async () => {
    await svc.createNetwork({ name: 'tmp', bridge: 'bttmp', subnets: [{ subnet: '10.242.0.0/24' }] });
    await svc.attach({ containerId: 'c1', netns: 'berth-c1', containerName: 'one', network: 'tmp' });
    await svc.attach({ containerId: 'c2', netns: 'berth-c2', network: 'tmp' });
    await expectError(svc.removeNetwork('tmp'), 'in-use', 'network "tmp" is in use by 2 container(s): one (c1), c2');
    await expectError(svc.removeNetwork('none'), 'failed-precondition', /built in/);
    await expectError(svc.removeNetwork('nope'), 'not-found', 'network "nope" not found');
    await svc.detach('c1');
    await svc.detach('c2');
    await svc.removeNetwork('tmp');
    expect(exec.calls.at(-1)).toEqual({ op: 'removeNetworkResources', network: 'tmp' });
    expect(svc.listNetworks().map((n) => n.name)).not.toContain('tmp');
    expect(events.at(-1)).toMatchObject({ type: 'network.removed', network: { name: 'tmp' } });
  });
});

describe('attachments', () => {
  it('plans eth0 on the default network with ports, records the result, and eth1 without a second default route', async () => {
    await svc.createNetwork({ name: 'back', bridge: 'btback', subnets: [{ subnet: '10.243.0.0/24' }] });
    const plan = await svc.planAttach({ containerId: 'c1', netns: 'berth-c1', containerName: 'web', ports: ['8080:80', '127.0.0.1::53/udp'] });
    expect(plan.mode).toBe('cni');
    if (plan.mode !== 'cni') throw new Error('unreachable');
    expect(plan.network.name).toBe('bridge');
    expect(plan.runtime).toMatchObject({ containerId: 'c1', netns: '/run/netns/berth-c1', ifname: 'eth0' });
    expect(plan.ports[0]).toEqual({ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(plan.runtime.capabilityArgs?.portMappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
      { hostPort: plan.ports[1]!.hostPort, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
    ]);
    expect(svc.listAttachments({ containerId: 'c1' })[0]!.state).toBe('planned');
    const result = await exec.add(plan.conflist, plan.runtime);
    const rec = await svc.recordAttach('c1', 'bridge', result);
    expect(rec).toMatchObject({ state: 'attached', ips: ['10.240.0.2/24'], gateways: ['10.240.0.1'], mac: '02:00:00:00:00:01', node: 'node1' });

    const second = await svc.attach({ containerId: 'c1', netns: 'berth-c1', network: 'back', aliases: ['api'] });
    expect(second.ifname).toBe('eth1');
    const addCall = exec.calls.filter((c) => c.op === 'add').at(-1)!;
    expect(addCall.network).toBe('back');
    expect(svc.inspectNetwork('back').conflist!.plugins[0]!.ipam).toMatchObject({ routes: [{ dst: '0.0.0.0/0' }] });
    // the attachment's own conflist has no default route
    const detach = svc.planDetach('c1', 'back')[0]!;
    expect(detach.cni!.conflist.plugins[0]!.ipam).toMatchObject({ routes: [] });
    expect(events.filter((e) => e.type === 'container.attached')).toHaveLength(2);
  });

  it('refuses a second attach to the same network, a taken host port and ports on internal networks', async () => {
    await svc.attach({ containerId: 'c1', netns: 'berth-c1', ports: ['18090:80'] });
    await expectError(svc.planAttach({ containerId: 'c1', netns: 'berth-c1' }), 'already-exists', 'container c1 is already attached to network "bridge"');
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', ports: ['18090:8080'] }), 'conflict', 'host port 127.0.0.1:18090/tcp is already published by container c1 (network "bridge")');
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', ports: ['nope'] }), 'invalid-argument', /invalid port spec "nope"/);
    await svc.createNetwork({ name: 'int', bridge: 'btint', internal: true, subnets: [{ subnet: '10.244.0.0/24' }] });
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', network: 'int', ports: ['80'] }), 'invalid-argument', 'ports cannot be published on internal network "int"');
    // nothing of the refused attempts was recorded
    expect(svc.listAttachments({ containerId: 'c2' })).toEqual([]);
  });

  it('static IPs: in the subnet and ip-range, not the gateway, not taken', async () => {
    await svc.createNetwork({ name: 'st', bridge: 'btst', subnets: [{ subnet: '10.245.0.0/24', ipRange: '10.245.0.128/25' }] });
    const a = await svc.attach({ containerId: 'c1', netns: 'berth-c1', network: 'st', ipv4Address: '10.245.0.200', mac: '02:42:0A:F5:00:C8' });
    expect(a.ips).toEqual(['10.245.0.200/24']);
    expect(exec.calls.at(-1)!.rt!.capabilityArgs).toEqual({ ips: ['10.245.0.200/24'], mac: '02:42:0a:f5:00:c8' });
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', network: 'st', ipv4Address: '10.245.0.200' }), 'conflict', 'static IP 10.245.0.200 is already used by container c1 on network "st"');
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', network: 'st', ipv4Address: '10.245.0.5' }), 'invalid-argument', /outside ip-range 10.245.0.128\/25/);
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', network: 'st', ipv4Address: '10.9.9.9' }), 'invalid-argument', /not inside any subnet/);
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', network: 'st', mac: '01:00:00:00:00:01' }), 'invalid-argument', /multicast/);
  });

  it('says clearly when a network has no addresses left, before and from host-local', async () => {
    await svc.createNetwork({ name: 'tiny', bridge: 'bttiny', subnets: [{ subnet: '10.246.0.0/30' }] });
    await svc.attach({ containerId: 'c1', netns: 'berth-c1', network: 'tiny' });
    await expectError(svc.planAttach({ containerId: 'c2', netns: 'berth-c2', network: 'tiny' }), 'exhausted', 'network "tiny" has no free IP addresses left: all 1 addresses of 10.246.0.0/30 are in use');
    await svc.createNetwork({ name: 'full', bridge: 'btfull', subnets: [{ subnet: '10.246.1.0/24' }] });
    exec.failAdd = Object.assign(new Error('CNI ADD of plugin "bridge" failed'), { msg: 'failed to allocate for range 0: no IP addresses available in range set: 10.246.1.1-10.246.1.254' });
    await expectError(svc.attach({ containerId: 'c3', netns: 'berth-c3', network: 'full' }), 'exhausted', /network "full" has no free IP addresses left \(10.246.1.0\/24\): failed to allocate/);
    expect(svc.listAttachments({ containerId: 'c3' })).toEqual([]);
  });

  it('needs the netns the agent made for a CNI network, and not for none or host', async () => {
    await expectError(
      svc.planAttach({ containerId: 'c1' }),
      'invalid-argument',
      `container c1: attaching to network "bridge" needs its network namespace (the path the agent's CreateNetns returned)`,
    );
    expect(svc.listAttachments({ containerId: 'c1' })).toEqual([]);
    expect(await svc.planAttach({ containerId: 'n1', network: 'none' })).toMatchObject({ mode: 'none' });
    expect(svc.listAttachments({ containerId: 'n1' })[0]).toMatchObject({ netns: '' });
  });

  it('none and host modes are exclusive and need no CNI', async () => {
    expect(await svc.planAttach({ containerId: 'h1', netns: 'berth-h1', network: 'host' })).toMatchObject({ mode: 'host' });
    expect(svc.listAttachments({ containerId: 'h1' })[0]).toMatchObject({ networkName: 'host', netns: '', state: 'attached' });
    await expectError(svc.planAttach({ containerId: 'h1', netns: 'berth-h1' }), 'failed-precondition', 'container h1 uses network "host" and cannot join network "bridge"');
    await svc.attach({ containerId: 'n1', netns: 'berth-n1' });
    await expectError(svc.planAttach({ containerId: 'n1', netns: 'berth-n1', network: 'none' }), 'failed-precondition', /"none" mode must be its only network/);
    await expectError(svc.planAttach({ containerId: 'n2', netns: 'berth-n2', network: 'none', ports: ['80'] }), 'invalid-argument', 'ports cannot be published on network "none"');
    expect(await svc.planAttach({ containerId: 'n3', netns: 'berth-n3', network: 'none' })).toMatchObject({ mode: 'none' });
    expect(exec.calls.filter((c) => c.op === 'add').map((c) => c.rt!.containerId)).toEqual(['n1']);
    await svc.detach('h1');
    expect(exec.calls.filter((c) => c.op === 'del')).toEqual([]);
  });

  it('CHECK leaves out portMappings; detach runs DEL with the attach arguments', async () => {
    await svc.attach({ containerId: 'c1', netns: 'berth-c1', ports: ['18091:80'] });
    await svc.check('c1', 'bridge');
    expect(exec.calls.at(-1)).toMatchObject({ op: 'check', rt: { containerId: 'c1', capabilityArgs: {} } });
    const [gone] = await svc.detach('c1');
    expect(gone).toMatchObject({ containerId: 'c1', networkName: 'bridge' });
    expect(exec.calls.at(-1)).toMatchObject({ op: 'del', rt: { ifname: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 18091 }] } } });
    expect(events.at(-1)).toMatchObject({ type: 'container.detached' });
    await expectError(svc.check('c1', 'bridge'), 'not-found', 'container c1 is not attached to network "bridge"');
  });
});

describe('container files', () => {
  it('user network: its gateway as nameserver; default network: host resolvers minus loopback', async () => {
    await svc.createNetwork({ name: 'app', bridge: 'btapp', subnets: [{ subnet: '10.247.0.0/24' }] });
    await svc.attach({ containerId: 'c1', netns: 'berth-c1', network: 'app' });
    const dnsOn = await NetworkingService.open({ ...options(), dns: { enabled: true, port: 0 } });
    try {
      const files = dnsOn.containerFiles('c1', { hostname: 'web', extraHosts: ['db:10.1.1.1'] });
      expect(files.hostname).toBe('web\n');
      expect(files.hosts).toContain('10.1.1.1\tdb\n10.247.0.2\tweb\n');
      expect(files.resolvConf).toBe('# Generated by berth\nsearch corp.example\nnameserver 10.247.0.1\noptions ndots:0\n');
    } finally {
      await dnsOn.close();
    }
    await svc.attach({ containerId: 'c2', netns: 'berth-c2' });
    expect(svc.containerFiles('c2').resolvConf).toBe('# Generated by berth\nsearch corp.example\nnameserver 10.0.0.2\n');
    expect(svc.containerFiles('c2').hostname).toBe('c2\n');
  });

  it('host mode: the host files', async () => {
    await svc.attach({ containerId: 'h1', netns: 'berth-h1', network: 'host' });
    const files = svc.containerFiles('h1', { hostname: 'box', extraHosts: ['x:10.2.2.2'] });
    expect(files.hosts).toBe('127.0.0.1 localhost\n10.0.0.9 buildhost\n10.2.2.2\tx\n');
    expect(files.resolvConf).toBe('nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\n');
    // --network none: loopback-only hosts, never the host's entries
    const none = svc.containerFiles('nobody', { hostname: 'box' });
    expect(none.hosts).toMatch(/127\.0\.0\.1\s+localhost/);
    expect(none.hosts).not.toContain('buildhost');
    expect(none.hostname).toContain('box');
  });
});

describe('reconcile and restart', () => {
  it('keeps records across a restart and releases what belongs to gone containers', async () => {
    await svc.createNetwork({ name: 'r', bridge: 'btr', subnets: [{ subnet: '10.248.0.0/24' }] });
    await svc.attach({ containerId: 'live', netns: 'berth-live', network: 'r' });
    await svc.attach({ containerId: 'gone', netns: 'berth-gone', network: 'r' });
    await svc.planAttach({ containerId: 'crashed', netns: 'berth-crashed', network: 'r' }); // agent died mid-ADD
    for (const id of ['live', 'gone', 'crashed', 'orphan']) exec.netns.add(id);
    await svc.close();

    svc = await NetworkingService.open(options());
    expect(svc.listAttachments({ network: 'r' }).map((a) => [a.containerId, a.state])).toEqual([
      ['live', 'attached'],
      ['gone', 'attached'],
      ['crashed', 'planned'],
    ]);
    exec.calls = [];
    const report = await svc.reconcile(['live']);
    expect(report.failures).toEqual([]);
    expect(report.released.map((r) => [r.attachment.containerId, r.attachment.networkName, r.result === undefined])).toEqual([
      ['gone', 'r', false],
      ['crashed', 'r', true],
    ]);
    expect(report.netnsRemoved.sort()).toEqual(['crashed', 'gone', 'orphan']);
    expect([...exec.netns]).toEqual(['live']);
    expect(exec.calls.filter((c) => c.op === 'del').map((c) => c.rt!.containerId)).toEqual(['gone', 'crashed']);
    expect(svc.listAttachments().map((a) => a.containerId)).toEqual(['live']);
  });

  it('keeps what it could not release (and its netns) for the next reconcile; an unreachable node releases nothing', async () => {
    await svc.createNetwork({ name: 'r', bridge: 'btr', subnets: [{ subnet: '10.248.0.0/24' }] });
    await svc.attach({ containerId: 'stuck', netns: 'berth-stuck', network: 'r' });
    exec.netns.add('stuck');
    exec.del = (conflist, rt) => {
      exec.calls.push({ op: 'del', network: conflist.name, rt });
      return Promise.reject(new Error('plugin bridge: device or resource busy'));
    };
    const first = await svc.reconcile([]);
    expect(first.released).toEqual([]);
    expect(first.failures).toEqual([{ containerId: 'stuck', network: 'r', resource: 'attachment', error: 'plugin bridge: device or resource busy' }]);
    expect(first.netnsRemoved).toEqual([]);
    expect([...exec.netns]).toEqual(['stuck']);
    expect(svc.listAttachments().map((a) => a.containerId)).toEqual(['stuck']);

    exec.listNetns = () => Promise.reject(new Error('node agent at unix:/x is unreachable'));
    await expect(svc.reconcile([])).rejects.toThrow('node agent at unix:/x is unreachable');
    expect(exec.calls.filter((c) => c.op === 'del')).toHaveLength(1);

    exec.del = FakeExecutor.prototype.del.bind(exec);
    exec.listNetns = FakeExecutor.prototype.listNetns.bind(exec);
    const second = await svc.reconcile([]);
    expect(second.failures).toEqual([]);
    expect(second.released.map((r) => r.attachment.containerId)).toEqual(['stuck']);
    expect(second.netnsRemoved).toEqual(['stuck']);
  });
});

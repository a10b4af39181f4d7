import { describe, expect, it } from 'vitest';
import { NetworkingError, buildConflist, conflistHasDefaultRoute, normaliseCreateRequest, rangeCapacity, type Network } from '../src/index.js';

const ctx = (existing: Network[] = []) => ({
  id: 'a'.repeat(64),
  created: '2024-01-01T00:00:00.000Z',
  existing,
  allocateSubnet: () => Promise.resolve('10.89.0.0/24'),
});

async function netFor(req: Parameters<typeof normaliseCreateRequest>[0], existing: Network[] = []): Promise<Network> {
  return normaliseCreateRequest(req, ctx(existing));
}

async function failure(req: Parameters<typeof normaliseCreateRequest>[0], existing: Network[] = []): Promise<NetworkingError> {
  const err = await normaliseCreateRequest(req, ctx(existing)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NetworkingError);
  return err as NetworkingError;
}

describe('network definitions', () => {
  it('fills in defaults: bridge driver, br-<id>, pool subnet, first address as gateway, embedded DNS', async () => {
    const n = await netFor({ name: 'web' });
    expect(n).toMatchObject({
      name: 'web',
      driver: 'bridge',
      bridge: 'br-aaaaaaaaaaaa',
      subnets: [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }],
      internal: false,
      dns: true,
      isDefault: false,
    });
  });

  it('keeps explicit subnet, gateway and ip-range, IPv4 and IPv6', async () => {
    const n = await netFor({
      name: 'dual',
      bridge: 'brdual',
      subnets: [
        { subnet: '10.250.0.0/16', gateway: '10.250.255.254', ipRange: '10.250.7.0/24' },
        { subnet: 'fd00:beef::/64' },
      ],
      labels: { team: 'a' },
      options: { mtu: '1400', 'sysctl.net.ipv4.conf.eth0.arp_notify': '1' },
    });
    expect(n.subnets).toEqual([
      { subnet: '10.250.0.0/16', gateway: '10.250.255.254', ipRange: '10.250.7.0/24' },
      { subnet: 'fd00:beef::/64', gateway: 'fd00:beef::1' },
    ]);
    expect(rangeCapacity(n.subnets[0]!)).toBe(256n);
    expect(n.options).toEqual({ mtu: '1400', 'sysctl.net.ipv4.conf.eth0.arp_notify': '1' });
  });

  it.each([
    [{ name: '' }, 'invalid-argument', /network name is empty/],
    [{ name: '-x' }, 'invalid-argument', /invalid network name "-x"/],
    [{ name: 'none' }, 'invalid-argument', /network name "none" is reserved/],
    [{ name: 'n', driver: 'overlay' as never }, 'invalid-argument', /unknown driver "overlay"/],
    [{ name: 'n', subnets: [{ subnet: '10.1.2.3/24' }] }, 'invalid-argument', /host bits are set, did you mean 10.1.2.0\/24/],
    [{ name: 'n', subnets: [{ subnet: '10.1.2.0/24', gateway: '10.1.3.1' }] }, 'invalid-argument', /gateway 10.1.3.1 is not inside subnet 10.1.2.0\/24/],
    [{ name: 'n', subnets: [{ subnet: '10.1.2.0/24', gateway: '10.1.2.255' }] }, 'invalid-argument', /is the network or broadcast address/],
    [{ name: 'n', subnets: [{ subnet: '10.1.2.0/24', ipRange: '10.1.0.0/23' }] }, 'invalid-argument', /ip-range 10.1.0.0\/23 is not inside subnet/],
    [{ name: 'n', subnets: [{ subnet: '10.1.2.0/32' }] }, 'invalid-argument', /too small/],
    [{ name: 'n', subnets: [{ subnet: '10.1.2.0/24' }, { subnet: '10.1.3.0/24' }] }, 'invalid-argument', /at most one IPv4 and one IPv6/],
    [{ name: 'n', options: { colour: 'blue' } }, 'invalid-argument', /unknown network option "colour"/],
    [{ name: 'n', options: { mtu: '9' } }, 'invalid-argument', /MTU must be 68..65535/],
    [{ name: 'n', bridge: 'a-bridge-name-too-long' }, 'invalid-argument', /longer than 15 bytes/],
    [{ name: 'n', driver: 'macvlan' as const }, 'invalid-argument', /needs a parent interface/],
    [{ name: 'n', driver: 'macvlan' as const, parent: 'eth0', options: { mode: 'l2' } }, 'invalid-argument', /macvlan modes are bridge, private, vepa, passthru/],
  ])('refuses %j', async (req, code, msg) => {
    const err = await failure(req);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(msg);
  });

  it('refuses overlapping subnets, duplicate names and bridges, naming the other network', async () => {
    const other = await netFor({ name: 'other', bridge: 'brother', subnets: [{ subnet: '10.77.0.0/16' }] });
    const overlap = await failure({ name: 'new', subnets: [{ subnet: '10.77.5.0/24' }] }, [other]);
    expect(overlap.code).toBe('conflict');
    expect(overlap.message).toBe(`subnet 10.77.5.0/24 of network "new" overlaps subnet 10.77.0.0/16 of network "other" (aaaaaaaaaaaa)`);
    expect((await failure({ name: 'other' }, [other])).code).toBe('already-exists');
    expect((await failure({ name: 'x', bridge: 'brother', subnets: [{ subnet: '10.78.0.0/24' }] }, [other])).message).toBe(
      'bridge brother is already used by network "other"',
    );
  });
});

describe('conflist generation', () => {
  it('bridge network: bridge + host-local + portmap + firewall', async () => {
    const n = await netFor({ name: 'web', bridge: 'brweb', subnets: [{ subnet: '10.250.0.0/16', ipRange: '10.250.7.0/24' }] });
    const list = buildConflist(n, { ipamDir: '/state/ipam' });
    expect(list).toEqual({
      cniVersion: '1.0.0',
      name: 'web',
      plugins: [
        {
          type: 'bridge',
          bridge: 'brweb',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          capabilities: { ips: true, mac: true },
          ipam: {
            type: 'host-local',
            dataDir: '/state/ipam',
            ranges: [[{ subnet: '10.250.0.0/16', gateway: '10.250.0.1', rangeStart: '10.250.7.0', rangeEnd: '10.250.7.255' }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'firewall', backend: 'iptables', ingressPolicy: 'same-bridge' },
      ],
    });
    expect(conflistHasDefaultRoute(list)).toBe(true);
    expect(conflistHasDefaultRoute(buildConflist(n, { ipamDir: '/x', defaultRoute: false }))).toBe(false);
  });

  it('internal network: no masquerade, no default route, no port publishing', async () => {
    const n = await netFor({ name: 'int', bridge: 'brint', internal: true, subnets: [{ subnet: '10.251.0.0/24' }, { subnet: 'fd00:1::/64' }] });
    const list = buildConflist(n, { ipamDir: '/i' });
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge', 'firewall']);
    expect(list.plugins[0]).toMatchObject({ ipMasq: false, isGateway: true, ipam: { routes: [], ranges: [[{ subnet: '10.251.0.0/24' }], [{ subnet: 'fd00:1::/64' }]] } });
  });

  it('macvlan network with tuning sysctls and mtu', async () => {
    const n = await netFor({ name: 'mv', driver: 'macvlan', parent: 'eth9', options: { mode: 'private', mtu: '1400', 'sysctl.net.ipv4.conf.eth0.arp_notify': '1' } });
    const list = buildConflist(n, { ipamDir: '/i' });
    expect(list.plugins.map((p) => p.type)).toEqual(['macvlan', 'tuning', 'portmap', 'firewall']);
    expect(list.plugins[0]).toMatchObject({ master: 'eth9', mode: 'private', mtu: 1400 });
    expect(list.plugins[1]).toEqual({ type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' } });
  });
});

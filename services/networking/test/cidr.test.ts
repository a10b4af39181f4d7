import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  allocateSubnet,
  cidrContains,
  cidrContainsCidr,
  cidrsOverlap,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  readHostRoutes,
  routeDestinations,
  usableRange,
} from '../src/index.js';

describe('IP addresses', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::', '2001:db8::'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('parses and canonicalises %s', (input, out) => {
    expect(formatIp(parseIp(input))).toBe(out);
  });

  it.each(['10.1.2', '10.1.2.256', '10.01.2.3', '1.2.3.4.5', '', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0'])(
    'rejects %j',
    (input) => {
      expect(() => parseIp(input)).toThrow(/invalid IP address/);
    },
  );
});

describe('CIDRs', () => {
  it('parses, normalises and checks host bits when strict', () => {
    expect(formatCidr(parseCidr('10.1.2.3/24'))).toBe('10.1.2.0/24');
    expect(() => parseCidr('10.1.2.3/24', { strict: true })).toThrow('invalid subnet "10.1.2.3/24": host bits are set, did you mean 10.1.2.0/24?');
    expect(formatCidr(parseCidr('fd00:1::/64', { strict: true }))).toBe('fd00:1::/64');
    expect(() => parseCidr('10.1.2.0')).toThrow(/expected address\/prefix/);
    expect(formatCidr(parseCidr('10.1.2.9', { allowBare: true }))).toBe('10.1.2.9/32');
    expect(() => parseCidr('10.1.2.0/33')).toThrow(/prefix length must be 0..32/);
    expect(() => parseCidr('fd00::/129')).toThrow(/prefix length must be 0..128/);
    expect(() => parseCidr('x/24')).toThrow(/"x" is not an IP address/);
  });

  it('answers containment and overlap, never across families', () => {
    const a = parseCidr('10.0.0.0/16');
    expect(cidrContains(a, parseIp('10.0.255.255'))).toBe(true);
    expect(cidrContains(a, parseIp('10.1.0.0'))).toBe(false);
    expect(cidrContainsCidr(a, parseCidr('10.0.4.0/24'))).toBe(true);
    expect(cidrContainsCidr(parseCidr('10.0.4.0/24'), a)).toBe(false);
    expect(cidrsOverlap(a, parseCidr('10.0.128.0/17'))).toBe(true);
    expect(cidrsOverlap(a, parseCidr('10.1.0.0/16'))).toBe(false);
    expect(cidrsOverlap(parseCidr('0.0.0.0/0'), parseCidr('::/0'))).toBe(false);
  });

  it('gives the usable range of a subnet', () => {
    expect(usableRange(parseCidr('10.0.0.0/24'))).toEqual({ first: parseIp('10.0.0.1').value, last: parseIp('10.0.0.254').value });
    expect(usableRange(parseCidr('10.0.0.0/31'))).toEqual({ first: parseIp('10.0.0.0').value, last: parseIp('10.0.0.1').value });
    expect(usableRange(parseCidr('fd00::/120')).last).toBe(parseIp('fd00::ff').value);
  });
});

describe('subnet allocation', () => {
  const pool = [{ base: '10.89.0.0/16', size: 24 }];

  it('takes the first free subnet, skipping networks and host routes', () => {
    expect(allocateSubnet(pool, [])).toBe('10.89.0.0/24');
    expect(allocateSubnet(pool, ['10.89.0.0/24', '10.89.1.128/25', '192.168.0.0/16'])).toBe('10.89.2.0/24');
    expect(allocateSubnet(pool, ['10.89.0.0/22'])).toBe('10.89.4.0/24');
    expect(allocateSubnet(pool, ['10.89.0.7'])).toBe('10.89.1.0/24');
  });

  it('falls through to the next pool and fails clearly when all are used', () => {
    const pools = [...pool, { base: '172.30.0.0/16', size: 20 }];
    expect(allocateSubnet(pools, ['10.0.0.0/8'])).toBe('172.30.0.0/20');
    expect(() => allocateSubnet(pools, ['10.0.0.0/8', '172.16.0.0/12'])).toThrow(
      'no free subnet left in the pool (10.89.0.0/16 in /24s, 172.30.0.0/16 in /20s); every candidate overlaps an existing network or host route',
    );
    expect(() => allocateSubnet([{ base: '10.0.0.0/16', size: 8 }], [])).toThrow(/size \/8 must be between \/16 and \/32/);
  });

  it('reads route destinations from `ip -j route` output', () => {
    const json = JSON.stringify([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '10.9.9.9', dev: 'tun0' },
      { type: 'broadcast', dst: '192.0.2.255', dev: 'eth0' },
    ]);
    expect(routeDestinations(json, 4)).toEqual(['192.0.2.0/24', '10.9.9.9/32']);
  });

  it("leaves out the routes of the network's own bridge (a leftover of it keeps its subnet free)", () => {
    const json = JSON.stringify([
      { dst: '10.89.0.0/24', dev: 'berth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
    ]);
    expect(routeDestinations(json, 4, 'berth0')).toEqual(['192.0.2.0/24']);
    expect(routeDestinations(json, 4)).toEqual(['10.89.0.0/24', '192.0.2.0/24']);
  });
});

describe('host routes', () => {
  it('reads this host\'s routes as CIDRs, default route excluded', async () => {
    const routes = await readHostRoutes();
    const main = (JSON.parse(execFileSync('ip', ['-j', '-4', 'route']).toString()) as { dst: string }[])
      .map((r) => r.dst)
      .filter((d) => d !== 'default')
      .map((d) => (d.includes('/') ? d : `${d}/32`));
    for (const r of main) expect(routes).toContain(r);
    expect(routes).not.toContain('default');
    for (const r of routes) expect(() => parseCidr(r)).not.toThrow();
  });
});

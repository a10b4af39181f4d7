import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkingError, allocatePorts, formatBinding, parsePortSpec, probeHostPort, publishAllRequests, toPortmapEntry } from '../src/index.js';

describe('parsePortSpec', () => {
  it.each([
    ['80', [{ hostIp: undefined, hostPorts: undefined, containerPort: 80, protocol: 'tcp' }]],
    ['8080:80', [{ hostIp: undefined, hostPorts: { from: 8080, to: 8080 }, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1:8080:80/udp', [{ hostIp: '127.0.0.1', hostPorts: { from: 8080, to: 8080 }, containerPort: 80, protocol: 'udp' }]],
    ['127.0.0.1::80', [{ hostIp: '127.0.0.1', hostPorts: undefined, containerPort: 80, protocol: 'tcp' }]],
    ['[::1]:8080:80/TCP', [{ hostIp: '::1', hostPorts: { from: 8080, to: 8080 }, containerPort: 80, protocol: 'tcp' }]],
    ['0.0.0.0:53:53/sctp', [{ hostIp: '0.0.0.0', hostPorts: { from: 53, to: 53 }, containerPort: 53, protocol: 'sctp' }]],
    ['8000-8010:80', [{ hostIp: undefined, hostPorts: { from: 8000, to: 8010 }, containerPort: 80, protocol: 'tcp' }]],
    [
      '8000-8001:80-81',
      [
        { hostIp: undefined, hostPorts: { from: 8000, to: 8000 }, containerPort: 80, protocol: 'tcp' },
        { hostIp: undefined, hostPorts: { from: 8001, to: 8001 }, containerPort: 81, protocol: 'tcp' },
      ],
    ],
    [
      '90-91',
      [
        { hostIp: undefined, hostPorts: undefined, containerPort: 90, protocol: 'tcp' },
        { hostIp: undefined, hostPorts: undefined, containerPort: 91, protocol: 'tcp' },
      ],
    ],
  ])('parses %s', (spec, expected) => {
    expect(parsePortSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['80/icmp', /protocol "icmp" is not one of tcp, udp, sctp/],
    ['0:80', /host port 0 is outside 1-65535/],
    ['8080:70000', /container port 70000 is outside 1-65535/],
    ['abc', /container port "abc" is not a number/],
    ['1.2.3:80:80', /host address "1.2.3" is not an IP address/],
    ['8000-8002:80-81', /differ in length/],
    ['90-80', /ends before it starts/],
    ['8080:', /no container port/],
    ['a:b:c:d', /expected \[ip:\]\[hostPort:\]containerPort/],
    ['[::1:8080:80', /expected \[ipv6\]:hostPort:containerPort/],
  ])('rejects %j', (spec, err) => {
    expect(() => parsePortSpec(spec)).toThrow(err);
  });

  it('expands -P exposed ports and formats bindings', () => {
    expect(publishAllRequests(['80', '53/udp']).map((r) => `${r.containerPort}/${r.protocol}`)).toEqual(['80/tcp', '53/udp']);
    expect(formatBinding({ hostIp: '', hostPort: 1, protocol: 'udp' })).toBe('*:1/udp');
    expect(formatBinding({ hostIp: '::1', hostPort: 2, protocol: 'tcp' })).toBe('[::1]:2/tcp');
    expect(toPortmapEntry({ hostIp: '', hostPort: 1, containerPort: 2, protocol: 'tcp' })).toEqual({ hostPort: 1, containerPort: 2, protocol: 'tcp' });
    expect(toPortmapEntry({ hostIp: '127.0.0.1', hostPort: 1, containerPort: 2, protocol: 'tcp' })).toEqual({
      hostPort: 1,
      containerPort: 2,
      protocol: 'tcp',
      hostIP: '127.0.0.1',
    });
  });
});

describe('allocatePorts (real binds on 127.0.0.1)', () => {
  let busy: net.Server;
  let busyPort: number;

  beforeAll(async () => {
    busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('refuses a port a process holds, before anything is set up', async () => {
    expect(await probeHostPort('127.0.0.1', busyPort, 'tcp')).toBe('EADDRINUSE');
    const err = await allocatePorts(parsePortSpec(`${busyPort}:80`), { defaultHostIp: '127.0.0.1', inUse: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkingError);
    expect((err as NetworkingError).code).toBe('conflict');
    expect((err as Error).message).toBe(`host port 127.0.0.1:${busyPort}/tcp is already in use on this host (another process is bound to it)`);
  });

  it('refuses a port another container published, and duplicates within one request', async () => {
    const inUse = [{ hostIp: '', hostPort: 18081, containerPort: 80, protocol: 'tcp' as const, containerId: 'abc', network: 'web' }];
    await expect(allocatePorts(parsePortSpec('18081:80'), { defaultHostIp: '127.0.0.1', inUse })).rejects.toThrow(
      'host port 127.0.0.1:18081/tcp is already published by container abc (network "web")',
    );
    // a different protocol does not collide
    expect(await allocatePorts(parsePortSpec('18081:80/udp'), { defaultHostIp: '127.0.0.1', inUse })).toHaveLength(1);
    await expect(
      allocatePorts([...parsePortSpec('18082:80'), ...parsePortSpec('18082:81')], { defaultHostIp: '127.0.0.1', inUse: [] }),
    ).rejects.toThrow('host port 127.0.0.1:18082/tcp is already published by another mapping of this request');
  });

  it('fills in the default host address, wildcards, free ports and ranges', async () => {
    const [a, b, c] = await allocatePorts(
      [...parsePortSpec('80'), ...parsePortSpec('0.0.0.0::81/udp'), ...parsePortSpec(`${busyPort}-${busyPort + 20}:82`)],
      { defaultHostIp: '127.0.0.1', inUse: [] },
    );
    expect(a).toMatchObject({ hostIp: '127.0.0.1', containerPort: 80, protocol: 'tcp' });
    expect(a!.hostPort).toBeGreaterThan(0);
    expect(b).toMatchObject({ hostIp: '', containerPort: 81, protocol: 'udp' });
    expect(c!.hostPort).toBeGreaterThan(busyPort); // the busy one is skipped
    expect(c!.hostPort).toBeLessThanOrEqual(busyPort + 20);
  });

  it('says when the host address is not the host', async () => {
    await expect(allocatePorts(parsePortSpec('192.0.2.77:8080:80'), { defaultHostIp: '127.0.0.1', inUse: [] })).rejects.toThrow(
      'cannot publish 192.0.2.77:8080/tcp: 192.0.2.77 is not an address of this host',
    );
  });
});

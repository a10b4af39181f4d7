import { describe, expect, it } from 'vitest';
import {
  buildPluginConfig,
  compareVersions,
  formatCniArgs,
  parseConflist,
  resolveNetnsPath,
  type NetworkConfigList,
  validateContainerId,
  validateIfname,
  validateNetnsName,
} from '../src/index.js';

const list: NetworkConfigList = {
  cniVersion: '1.0.0',
  name: 'net1',
  plugins: [
    { type: 'bridge', bridge: 'br1', capabilities: { ips: true, mac: false } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

describe('parseConflist', () => {
  it('accepts a valid list given as object or JSON text', () => {
    expect(parseConflist(list).name).toBe('net1');
    expect(parseConflist(JSON.stringify(list)).plugins).toHaveLength(2);
  });

  it.each([
    ['{', /not valid JSON/],
    [[], /must be a JSON object/],
    [{ ...list, cniVersion: 1 }, /"cniVersion" must be a version/],
    [{ ...list, name: undefined }, /has no "name"/],
    [{ ...list, name: 'bad/name' }, /invalid CNI network name "bad\/name"/],
    [{ ...list, plugins: [] }, /"plugins" must be a non-empty array/],
    [{ ...list, plugins: [{}] }, /plugins\[0\]: CNI plugin entry has no "type"/],
    [{ ...list, plugins: [{ type: '../bin/sh' }] }, /plugins\[0\]: invalid CNI plugin type/],
    [{ ...list, plugins: [{ type: 'x', capabilities: { a: 'yes' } }] }, /capabilities must map names to booleans/],
    [{ ...list, disableCheck: 'no' }, /"disableCheck" must be a boolean/],
  ])('rejects %j', (input, err) => {
    expect(() => parseConflist(input)).toThrow(err);
  });
});

describe('buildPluginConfig', () => {
  it('injects name, cniVersion, prevResult and only the declared capabilities', () => {
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
    const caps = { ips: ['10.0.0.9/24'], mac: '02:00:00:00:00:01', portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] };
    const conf = buildPluginConfig(list, list.plugins[0]!, prev, caps);
    expect(conf).toMatchObject({ type: 'bridge', name: 'net1', cniVersion: '1.0.0', bridge: 'br1', prevResult: prev });
    expect(conf.runtimeConfig).toEqual({ ips: ['10.0.0.9/24'] });
  });

  it('omits prevResult and runtimeConfig when there is nothing to pass', () => {
    const conf = buildPluginConfig(list, list.plugins[1]!, undefined, {});
    expect(conf).not.toHaveProperty('prevResult');
    expect(conf).not.toHaveProperty('runtimeConfig');
  });

  it('does not let a plugin entry smuggle its own runtimeConfig or prevResult', () => {
    const p = { type: 'x', runtimeConfig: { portMappings: ['evil'] }, prevResult: { evil: true } };
    const conf = buildPluginConfig({ ...list, plugins: [p] }, p, undefined, undefined);
    expect(conf).not.toHaveProperty('runtimeConfig');
    expect(conf).not.toHaveProperty('prevResult');
  });
});

describe('names and arguments', () => {
  it('validates container ids, interface names, netns names', () => {
    expect(() => validateContainerId('abc-1_2.3')).not.toThrow();
    expect(() => validateContainerId('')).toThrow(/empty/);
    expect(() => validateContainerId('-x')).toThrow(/invalid CNI container id "-x"/);
    expect(() => validateIfname('eth0')).not.toThrow();
    expect(() => validateIfname('a-very-long-ifname')).toThrow(/longer than 15 bytes/);
    expect(() => validateIfname('a:b')).toThrow(/invalid interface name/);
    expect(() => validateIfname('..')).toThrow(/invalid interface name/);
    expect(() => validateNetnsName('ns/../x')).toThrow(/invalid netns name/);
  });

  it('formats CNI_ARGS with IgnoreUnknown and rejects separators in values', () => {
    expect(formatCniArgs({})).toBe('');
    expect(formatCniArgs({ K8S_POD_NAME: 'web' })).toBe('IgnoreUnknown=1;K8S_POD_NAME=web');
    expect(formatCniArgs({ IgnoreUnknown: '0', A: 'b' })).toBe('IgnoreUnknown=0;A=b');
    expect(() => formatCniArgs({ A: 'x;y' })).toThrow(/invalid CNI_ARGS entry "A=x;y"/);
  });

  it('resolves netns names and paths', () => {
    expect(resolveNetnsPath('c1')).toBe('/run/netns/c1');
    expect(resolveNetnsPath('/proc/1/ns/net')).toBe('/proc/1/ns/net');
    expect(resolveNetnsPath('')).toBe('');
    expect(() => resolveNetnsPath('rel/path')).toThrow(/must be absolute/);
  });

  it('compares versions numerically', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('0.3.1', '0.4.0')).toBeLessThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
  });
});

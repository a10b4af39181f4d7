// The CNI calling convention, proved with small scripted plugins that record
// what they were given: env, stdin, order, prevResult chaining, errors.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CniDelError,
  CniInvocationError,
  CniPluginError,
  cniAdd,
  cniCheck,
  cniDel,
  cniDelCached,
  getCachedAttachment,
  listCachedAttachments,
  type CniConfig,
  type NetworkConfigList,
} from '../src/index.js';

let root: string;
let cfg: CniConfig;
let fakeNetns: string;
let seq = 0;

/** A plugin that logs its env+stdin to <root>/log/<n>-<name>-<command>.json and prints `output`. */
function recordingPlugin(name: string, body: string): void {
  const script = `#!/bin/sh
n=$(( $(ls ${root}/log | wc -l) + 1 ))
stdin=$(cat)
f=${root}/log/$(printf %03d $n)-${name}-$CNI_COMMAND.json
printf '{"env":{"CNI_COMMAND":"%s","CNI_CONTAINERID":"%s","CNI_NETNS":"%s","CNI_IFNAME":"%s","CNI_ARGS":"%s","CNI_PATH":"%s"},"stdin":%s}' \\
  "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" "$stdin" > $f
${body}
`;
  const path = join(root, 'plugins', name);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

function logs(): { file: string; env: Record<string, string>; stdin: Record<string, unknown> }[] {
  return readdirSync(join(root, 'log'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(root, 'log', file), 'utf8')) as { env: Record<string, string>; stdin: Record<string, unknown> }) }));
}

function clearLogs(): void {
  rmSync(join(root, 'log'), { recursive: true, force: true });
  mkdirSync(join(root, 'log'));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-cni-exec-'));
  mkdirSync(join(root, 'plugins'));
  mkdirSync(join(root, 'log'));
  fakeNetns = join(root, 'netns-file');
  writeFileSync(fakeNetns, '');
  cfg = { pluginDirs: [join(root, 'empty'), join(root, 'plugins')], cacheDir: join(root, 'cache'), timeoutMs: 3000 };
  // "first" returns a result; "second" echoes its prevResult back with an extra interface.
  recordingPlugin(
    'first',
    `if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"'$CNI_NETNS'"}],"ips":[{"address":"10.9.9.2/24","interface":0}]}'; fi`,
  );
  recordingPlugin(
    'second',
    `if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"},{"name":"second0"}],"ips":[{"address":"10.9.9.2/24","interface":0}]}'; fi`,
  );
  recordingPlugin('failing', `echo '{"cniVersion":"1.0.0","code":11,"msg":"try again later","details":"lock held"}'; exit 1`);
  recordingPlugin('crashing', `echo 'panic: boom' >&2; exit 2`);
  recordingPlugin('sleeping', `sleep 30`);
  recordingPlugin('garbage', `echo 'not json'`);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function conflist(...types: string[]): NetworkConfigList {
  return {
    cniVersion: '1.0.0',
    name: `fake${++seq}`,
    plugins: types.map((type) => ({ type, capabilities: type === 'second' ? { portMappings: true } : ({} as Record<string, boolean>), tag: type })),
  };
}

describe('cniAdd/cniDel/cniCheck with scripted plugins', () => {
  it('chains ADD through the list and caches the final result', async () => {
    clearLogs();
    const list = conflist('first', 'second');
    const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
    const result = await cniAdd(list, { containerId: 'c1', netns: fakeNetns, ifname: 'eth0', args: { FOO: 'bar' }, capabilityArgs: { portMappings, mac: 'x' } }, cfg);
    expect(result.interfaces?.map((i) => i.name)).toEqual(['eth0', 'second0']);

    const [a, b] = logs();
    expect(a!.file).toMatch(/first-ADD/);
    expect(a!.env).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: fakeNetns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;FOO=bar',
      CNI_PATH: cfg.pluginDirs!.join(':'),
    });
    expect(a!.stdin).toMatchObject({ type: 'first', name: list.name, cniVersion: '1.0.0' });
    expect(a!.stdin).not.toHaveProperty('prevResult');
    expect(a!.stdin).not.toHaveProperty('runtimeConfig');
    expect(b!.file).toMatch(/second-ADD/);
    expect((b!.stdin.prevResult as { interfaces: unknown[] }).interfaces).toHaveLength(1);
    expect(b!.stdin.runtimeConfig).toEqual({ portMappings });

    const cached = await getCachedAttachment({ networkName: list.name, containerId: 'c1', ifname: 'eth0' }, cfg);
    expect(cached?.result).toEqual(result);
    expect(cached?.capabilityArgs).toMatchObject({ portMappings });
    expect((await listCachedAttachments(cfg)).entries.map((e) => e.networkName)).toContain(list.name);
  });

  it('CHECKs in order and DELs in reverse order, both with the cached result and capabilities', async () => {
    const list = conflist('first', 'second');
    const portMappings = [{ hostPort: 1, containerPort: 2, protocol: 'udp' }];
    const result = await cniAdd(list, { containerId: 'c2', netns: fakeNetns, ifname: 'eth1', capabilityArgs: { portMappings } }, cfg);
    clearLogs();
    await cniCheck(list, { containerId: 'c2', netns: fakeNetns, ifname: 'eth1' }, cfg);
    // after a "restart": no capability args given, they come from the cache
    await cniDel(list, { containerId: 'c2', netns: fakeNetns, ifname: 'eth1' }, cfg);
    const l = logs();
    expect(l.map((x) => x.file.replace(/^\d+-/, ''))).toEqual(['first-CHECK.json', 'second-CHECK.json', 'second-DEL.json', 'first-DEL.json']);
    for (const x of l) expect(x.stdin.prevResult).toEqual(result);
    expect(l[2]!.stdin.runtimeConfig).toEqual({ portMappings });
    expect(await getCachedAttachment({ networkName: list.name, containerId: 'c2', ifname: 'eth1' }, cfg)).toBeUndefined();
  });

  it('passes an empty CNI_NETNS to DEL when the namespace is gone, and DEL without a cache still runs', async () => {
    const list = conflist('first');
    clearLogs();
    await cniDel(list, { containerId: 'c3', netns: join(root, 'no-such-netns'), ifname: 'eth0' }, cfg);
    const [d] = logs();
    expect(d!.env.CNI_NETNS).toBe('');
    expect(d!.stdin).not.toHaveProperty('prevResult');
  });

  it('surfaces a plugin error with its code, msg and details, and rolls the list back', async () => {
    const list = conflist('first', 'failing');
    clearLogs();
    const err = await cniAdd(list, { containerId: 'c4', netns: fakeNetns, ifname: 'eth0' }, cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    const pe = err as CniPluginError;
    expect([pe.code, pe.msg, pe.details, pe.plugin, pe.command]).toEqual([11, 'try again later', 'lock held', 'failing', 'ADD']);
    expect(pe.message).toMatch(/CNI ADD of plugin "failing" .*container c4.* code 11: try again later \(lock held\)/);
    // rollback: DEL ran for the whole list; the "failing" plugin's DEL fails too and is reported
    expect(logs().map((x) => x.file.replace(/^\d+-/, ''))).toEqual(['first-ADD.json', 'failing-ADD.json', 'failing-DEL.json', 'first-DEL.json']);
    expect(pe.message).toMatch(/cleaning up after the failure also failed/);
    expect(await getCachedAttachment({ networkName: list.name, containerId: 'c4', ifname: 'eth0' }, cfg)).toBeUndefined();
  });

  it('keeps the cache and reports every failing plugin when DEL fails', async () => {
    const list = conflist('first', 'failing');
    const err = await cniDel(list, { containerId: 'c5', netns: fakeNetns, ifname: 'eth0' }, cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniDelError);
    expect((err as CniDelError).errors).toHaveLength(1);
    expect((err as Error).message).toMatch(/failed in 1 plugin\(s\).*try again later/);
  });

  it('reports missing plugins, crashes, timeouts and garbage output distinctly', async () => {
    const rt = { containerId: 'c6', netns: fakeNetns, ifname: 'eth0' };
    const cases: [string, string, RegExp][] = [
      ['nosuchplugin', 'not-found', /plugin binary "nosuchplugin" not found in .*empty, .*plugins/],
      ['crashing', 'crashed', /exited with code 2 without a CNI error result; stderr: panic: boom/],
      ['sleeping', 'timeout', /timed out after 3000 ms/],
      ['garbage', 'bad-output', /printed no JSON result: "not json/],
    ];
    for (const [type, reason, msg] of cases) {
      const err = await cniAdd(conflist(type), rt, cfg).catch((e: unknown) => e);
      expect(err, type).toBeInstanceOf(CniInvocationError);
      expect((err as CniInvocationError).reason, type).toBe(reason);
      expect((err as Error).message, type).toMatch(msg);
    }
  });

  it('refuses ADD into a missing netns, CHECK without a cached ADD, and CHECK on old versions', async () => {
    const list = conflist('first');
    await expect(cniAdd(list, { containerId: 'c7', netns: join(root, 'gone'), ifname: 'eth0' }, cfg)).rejects.toThrow(/netns .*gone does not exist/);
    await expect(cniCheck(list, { containerId: 'c7', netns: fakeNetns, ifname: 'eth0' }, cfg)).rejects.toThrow(/no cached ADD result/);
    await expect(cniCheck({ ...list, cniVersion: '0.3.1' }, { containerId: 'c7', netns: fakeNetns, ifname: 'eth0' }, cfg)).rejects.toThrow(/needs cniVersion 0.4.0/);
    clearLogs();
    await cniCheck({ ...list, disableCheck: true }, { containerId: 'c7', netns: fakeNetns, ifname: 'eth0' }, cfg);
    expect(logs()).toHaveLength(0);
  });

  it('DELs from the cache alone', async () => {
    const list = conflist('first');
    await cniAdd(list, { containerId: 'c8', netns: fakeNetns, ifname: 'eth0' }, cfg);
    clearLogs();
    const key = { networkName: list.name, containerId: 'c8', ifname: 'eth0' };
    expect(await cniDelCached(key, cfg)).toBe(true);
    expect(logs().map((x) => x.file.replace(/^\d+-/, ''))).toEqual(['first-DEL.json']);
    expect(await cniDelCached(key, cfg)).toBe(false);
    expect(existsSync(join(root, 'cache'))).toBe(true);
  });
});

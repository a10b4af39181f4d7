// Cgroup layout detection and stats, v1 and v2. The live machine (cgroup v1
// hybrid here) is read for real; the other version is a file tree laid out
// as the kernel lays it out, since one host cannot mount both.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  cgroupSystemFromMounts,
  containerCgroupFromPath,
  containerCgroupFromProc,
  parseCgroupMounts,
  parseProcCgroup,
  readCgroupSystem,
} from '../src/cgroups/layout.js';
import { readCgroupStats } from '../src/cgroups/stats.js';

const base = mkdtempSync('/tmp/berth-agent-cgroups-');
afterAll(() => rmSync(base, { recursive: true, force: true }));

function files(dir: string, content: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(content)) writeFileSync(join(dir, name), text);
}

describe('layout', () => {
  test('this host: v1 controllers (hybrid counts as v1)', async () => {
    const system = await readCgroupSystem();
    const live = await import('node:fs').then((fs) => fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    const hasV1 = /- cgroup cgroup .*\b(memory|cpuacct|pids)\b/.test(live);
    expect(system.version).toBe(hasV1 ? 1 : 2);
  });

  test('parses v1, hybrid and v2 mountinfo', () => {
    const hybrid = [
      '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '34 30 0:31 /nested /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    const mounts = parseCgroupMounts(hybrid);
    expect(mounts).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/memory', root: '/nested', version: 1, controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/systemd', root: '/', version: 1, controllers: [] },
      { mountPoint: '/sys/fs/cgroup/unified', root: '/', version: 2, controllers: [] },
    ]);
    const system = cgroupSystemFromMounts(mounts);
    expect(system.version).toBe(1);
    // A path under the mount's root is made relative to it.
    expect(containerCgroupFromPath(system, '/nested/berth/c1').memory).toBe('/sys/fs/cgroup/memory/berth/c1');
    expect(containerCgroupFromPath(system, 'berth/c1').cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/berth/c1');
    const v2 = cgroupSystemFromMounts(parseCgroupMounts('25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate'));
    expect(v2.version).toBe(2);
    expect(containerCgroupFromPath(v2, '/berth/c1')).toEqual({
      version: 2,
      memory: '/sys/fs/cgroup/berth/c1',
      cpu: '/sys/fs/cgroup/berth/c1',
      pids: '/sys/fs/cgroup/berth/c1',
    });
  });

  test('parses /proc/<pid>/cgroup', () => {
    const text = '8:pids:/berth/c1\n4:memory:/berth/c1\n2:cpu,cpuacct:/berth/c1\n1:name=systemd:/x\n0::/berth/c1\n';
    expect(parseProcCgroup(text)[2]).toEqual({ controllers: ['cpu', 'cpuacct'], path: '/berth/c1' });
    const v1 = cgroupSystemFromMounts(
      parseCgroupMounts(
        [
          '31 30 0:28 / /cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
          '34 30 0:31 / /cg/memory rw - cgroup cgroup rw,memory',
          '38 30 0:35 / /cg/pids rw - cgroup cgroup rw,pids',
        ].join('\n'),
      ),
    );
    expect(containerCgroupFromProc(v1, text)).toEqual({ version: 1, memory: '/cg/memory/berth/c1', cpu: '/cg/cpu,cpuacct/berth/c1', pids: '/cg/pids/berth/c1' });
  });
});

describe('stats', () => {
  test('v2 files', async () => {
    const dir = join(base, 'v2/berth/c1');
    files(dir, {
      'memory.current': '10485760\n',
      'memory.max': 'max\n',
      'memory.stat': 'anon 8000000\nfile 2485760\ninactive_file 1048576\n',
      'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
      'cpu.stat': 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\n',
      'memory.peak': '12000000\n',
      'pids.current': '3\n',
      'pids.max': '100\n',
    });
    const system = cgroupSystemFromMounts(parseCgroupMounts(`25 20 0:22 / ${join(base, 'v2')} rw - cgroup2 cgroup2 rw`));
    const stats = await readCgroupStats(containerCgroupFromPath(system, '/berth/c1'));
    expect(stats).toEqual({
      cgroupVersion: 2,
      memory: { usageBytes: 10485760, workingSetBytes: 9437184, limitBytes: null, oomKills: 1, maxUsageBytes: 12000000, cacheBytes: 2485760, rssBytes: 8000000 },
      cpu: { usageNs: 2_500_000, userNs: 2_000_000, systemNs: 500_000, throttling: { periods: 10, throttledPeriods: 2, throttledTimeNs: 300_000 } },
      pids: { current: 3, limit: 100 },
    });
  });

  test('v1 files', async () => {
    const root = join(base, 'v1');
    files(join(root, 'memory/berth/c1'), {
      'memory.usage_in_bytes': '20971520\n',
      'memory.limit_in_bytes': '67108864\n',
      'memory.stat': 'cache 4096\nrss 100\ntotal_inactive_file 1048576\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    });
    files(join(root, 'cpuacct/berth/c1'), {
      'cpuacct.usage': '123456789\n',
      'cpuacct.stat': 'user 10\nsystem 2\n',
      'cpu.stat': 'nr_periods 7\nnr_throttled 3\nthrottled_time 4500\n',
    });
    files(join(root, 'pids/berth/c1'), { 'pids.current': '1\n', 'pids.max': 'max\n' });
    const mountinfo = ['memory', 'cpuacct', 'pids'].map((c, i) => `${31 + i} 30 0:${28 + i} / ${join(root, c)} rw - cgroup cgroup rw,${c}`).join('\n');
    const system = cgroupSystemFromMounts(parseCgroupMounts(mountinfo));
    const stats = await readCgroupStats(containerCgroupFromPath(system, '/berth/c1'));
    expect(stats).toEqual({
      cgroupVersion: 1,
      memory: { usageBytes: 20971520, workingSetBytes: 19922944, limitBytes: 67108864, oomKills: 2, cacheBytes: 4096, rssBytes: 100 },
      cpu: { usageNs: 123456789, userNs: 100_000_000, systemNs: 20_000_000, throttling: { periods: 7, throttledPeriods: 3, throttledTimeNs: 4500 } },
      pids: { current: 1, limit: null },
    });
    // v1's "unlimited" is a huge page-rounded number.
    writeFileSync(join(root, 'memory/berth/c1/memory.limit_in_bytes'), '9223372036854771712\n');
    expect((await readCgroupStats(containerCgroupFromPath(system, '/berth/c1'))).memory.limitBytes).toBeNull();
    await expect(readCgroupStats(containerCgroupFromPath(system, '/berth/gone'))).rejects.toThrow(/does not exist/);
  });
});

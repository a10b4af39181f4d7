// The OCI runtime spec built from image config and user options.
import { describe, expect, it } from 'vitest';
import { tasks, types } from '@berth/api';
import { buildExecProcess, buildRuntimeSpec, capabilitySet, commandLine, withTaskEnvironment, type SpecInputs } from '../src/spec/build.js';
import { DEFAULT_CAPABILITIES, MASKED_PATHS } from '../src/spec/defaults.js';
import { mergeEnv } from '../src/spec/env.js';

const ID = `1234567890ab${'c'.repeat(52)}`;

function inputs(spec: Partial<tasks.ContainerSpec> = {}, more: Partial<SpecInputs> = {}): SpecInputs {
  return {
    id: ID,
    name: 'web',
    namespace: 'default',
    spec: { ...tasks.ContainerSpec.fromPartial({ image: 'busybox' }), ...spec },
    imageName: 'docker.io/library/busybox:latest',
    image: { Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/image/bin', 'LANG=C'], WorkingDir: '/srv' },
    user: { uid: 1000, gid: 1000, additionalGids: [100], home: '/home/app' },
    hostHostname: 'the-host',
    cgroupsPath: `/berth/${ID}`,
    host: { swapAccounting: true },
    volumePath: (name) => `/var/lib/berth/tasks/volumes/${name}/_data`,
    ...more,
  };
}

describe('buildRuntimeSpec', () => {
  it('applies Docker\'s defaults', () => {
    const s = buildRuntimeSpec(inputs());
    expect(s.ociVersion).toBe('1.0.2');
    expect(s.root).toEqual({ path: 'rootfs', readonly: false });
    expect(s.hostname).toBe('1234567890ab');
    expect(s.process.args).toEqual(['/entry', 'serve', '--port', '80']);
    expect(s.process.cwd).toBe('/srv');
    expect(s.process.env).toEqual(['PATH=/image/bin', 'HOSTNAME=1234567890ab', 'LANG=C', 'HOME=/home/app']);
    expect(s.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [100] });
    expect(s.process.capabilities?.bounding).toEqual(DEFAULT_CAPABILITIES.map((c) => `CAP_${c}`));
    expect(s.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(s.mounts.find((m) => m.destination === '/dev/shm')?.options).toContain(`size=${64 * 1024 * 1024}`);
    expect(s.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(s.linux.readonlyPaths).toContain('/proc/sys');
    expect(s.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(s.linux.cgroupsPath).toBe(`/berth/${ID}`);
    expect(s.linux.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
    expect(s.annotations?.['org.berth.container.id']).toBe(ID);
  });

  it('follows Docker\'s entrypoint/cmd override rules', () => {
    const image = { Entrypoint: ['/e'], Cmd: ['c'] };
    const spec = (s: Partial<tasks.ContainerSpec>) => ({ ...tasks.ContainerSpec.fromPartial({ image: 'x' }), ...s });
    expect(commandLine(spec({ cmd: { args: ['x', 'y'] } }), image)).toEqual(['/e', 'x', 'y']);
    expect(commandLine(spec({ entrypoint: { args: ['/other'] } }), image)).toEqual(['/other']);
    expect(commandLine(spec({ entrypoint: { args: [] }, cmd: { args: ['ls'] } }), image)).toEqual(['ls']);
    expect(() => commandLine(spec({ entrypoint: { args: [] } }), image)).toThrow(/no command specified/);
    expect(() => commandLine(spec({}), {})).toThrow(expect.objectContaining({ code: 3 }));
  });

  it('applies user options: env, working dir, hostname, tty, read-only, shm, resources', () => {
    const s = buildRuntimeSpec(
      inputs({
        env: ['LANG=fr', 'NEW=1', 'PATH'],
        workingDir: '/w',
        hostname: 'box',
        domainname: 'example.org',
        tty: true,
        readOnlyRootfs: true,
        shmSizeBytes: 1 << 20,
        resources: { memoryBytes: 100 << 20, memorySwapBytes: 0, nanoCpus: 1.5e9, cpuShares: 512, cpusetCpus: '0', pidsLimit: 64 },
      }),
    );
    expect(s.process.env).toEqual(['HOSTNAME=box', 'TERM=xterm', 'LANG=fr', 'NEW=1', 'HOME=/home/app']);
    expect(s.process.cwd).toBe('/w');
    expect(s.process.terminal).toBe(true);
    expect(s.hostname).toBe('box');
    expect(s.domainname).toBe('example.org');
    expect(s.root.readonly).toBe(true);
    expect(s.mounts.find((m) => m.destination === '/dev/shm')?.options).toContain('size=1048576');
    expect(s.linux.resources).toMatchObject({
      memory: { limit: 100 << 20, swap: 200 << 20 },
      cpu: { quota: 150000, period: 100000, shares: 512, cpus: '0' },
      pids: { limit: 64 },
    });
  });

  it('mounts binds, volumes and tmpfs, parents first, replacing a shadowed standard mount', () => {
    const mount = (type: string, source: string, target: string, options: string[] = []): types.Mount => ({ type, source, target, options });
    const s = buildRuntimeSpec(
      inputs({
        mounts: [
          mount('bind', '/host/data/sub', '/data/sub', ['ro']),
          mount('volume', 'cache', '/data'),
          mount('tmpfs', '', '/dev/shm', ['exec', 'size=1m']),
        ],
      }),
    );
    const user = s.mounts.slice(-3);
    expect(user).toEqual([
      { destination: '/data', type: 'bind', source: '/var/lib/berth/tasks/volumes/cache/_data', options: ['rbind', 'rprivate'] },
      { destination: '/data/sub', type: 'bind', source: '/host/data/sub', options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
    ]);
    expect(s.mounts.filter((m) => m.destination === '/dev/shm')).toHaveLength(1);
  });

  it('gives a privileged container every capability, every device, no masked paths, writable sysfs', () => {
    const s = buildRuntimeSpec(
      inputs({ privileged: true, capDrop: ['ALL'] }, { hostDevices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }] }),
    );
    expect(s.process.capabilities?.bounding).toHaveLength(41);
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.linux.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux.devices).toEqual([{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }]);
    expect(s.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  it('shares the host network namespace and hostname with host networking', () => {
    const s = buildRuntimeSpec(inputs({ networks: [{ network: 'host', aliases: [], ipAddress: '' }] }));
    expect(s.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(s.hostname).toBe('the-host');
    expect(s.linux.sysctl).toBeUndefined();
  });

  it('adds the network namespace path and name files for a task', () => {
    const base = buildRuntimeSpec(inputs({ mounts: [{ type: 'bind', source: '/etc', target: '/etc/hosts', options: [] }] }));
    const s = withTaskEnvironment(base, {
      netnsPath: '/run/netns/x',
      nameFiles: { hostsPath: '/f/hosts', hostnamePath: '/f/hostname', resolvConfPath: '/f/resolv.conf' },
    });
    expect(s.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/x' });
    const dests = s.mounts.map((m) => m.destination);
    expect(dests.filter((d) => d === '/etc/hosts')).toHaveLength(1); // the user's mount wins
    expect(dests).toEqual(expect.arrayContaining(['/etc/resolv.conf', '/etc/hostname']));
    expect(base.linux.namespaces).toContainEqual({ type: 'network' }); // base untouched
  });
});

describe('capabilities', () => {
  const caps = (capAdd: string[], capDrop: string[]) => capabilitySet({ privileged: false, capAdd, capDrop });
  it('adds and drops, accepting CAP_ prefixes and any case', () => {
    const set = caps(['net_admin', 'CAP_SYS_TIME'], ['CHOWN', 'cap_kill']);
    expect(set).toContain('CAP_NET_ADMIN');
    expect(set).toContain('CAP_SYS_TIME');
    expect(set).not.toContain('CAP_CHOWN');
    expect(set).not.toContain('CAP_KILL');
  });
  it('handles ALL on either side', () => {
    expect(caps(['ALL'], ['NET_RAW'])).toHaveLength(40);
    expect(caps(['NET_BIND_SERVICE'], ['ALL'])).toEqual(['CAP_NET_BIND_SERVICE']);
  });
});

describe('exec process', () => {
  it('inherits the container process, overriding what the exec asks', () => {
    const base = buildRuntimeSpec(inputs({ env: ['A=1'] })).process;
    const p = buildExecProcess(base, tasks.ProcessOptions.fromPartial({ args: ['id'], env: ['A=2'], workingDir: '/tmp', tty: true }), {
      uid: 0,
      gid: 0,
      additionalGids: [],
      home: '/root',
    });
    expect(p.args).toEqual(['id']);
    expect(p.env).toContain('A=2');
    expect(p.cwd).toBe('/tmp');
    expect(p.terminal).toBe(true);
    expect(p.user).toEqual({ uid: 0, gid: 0 });
    expect(buildExecProcess(base, tasks.ProcessOptions.fromPartial({ args: ['x'], privileged: true }), undefined).capabilities?.bounding).toHaveLength(41);
  });
});

describe('mergeEnv', () => {
  it('replaces by key, appends new keys and removes bare keys', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'A'])).toEqual(['B=3', 'C=4']);
  });
});

// The runtime spec of a container from its ContainerSpec and image config
// (built by @berth/runtime-spec, whose own tests cover the builder's rules):
// how the API's options map onto it, and INVALID_ARGUMENT for what cannot be built.
import { describe, expect, it } from 'vitest';
import { tasks, types } from '@berth/api';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, INIT_PATH_IN_CONTAINER, MASKED_PATHS, STOP_SIGNAL_ANNOTATION } from '@berth/runtime-spec';
import { ANNOTATIONS, buildExecProcessFor, buildRuntimeSpec, checkUserSpec, networkMode, userOf, type SpecInputs } from '../src/container-spec.js';

const ID = `1234567890ab${'c'.repeat(52)}`;

function inputs(spec: Partial<tasks.ContainerSpec> = {}, more: Partial<SpecInputs> = {}): SpecInputs {
  return {
    id: ID,
    name: 'web',
    namespace: 'default',
    spec: { ...tasks.ContainerSpec.fromPartial({ image: 'busybox' }), ...spec },
    imageName: 'docker.io/library/busybox:latest',
    image: { Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/image/bin', 'LANG=C'], WorkingDir: '/srv', User: 'app' },
    cgroupsPath: `/berth/${ID}`,
    host: { hostname: 'the-host', swapAccounting: true, nofileHardLimit: 4096 },
    volumePath: (name) => `/var/lib/berth/tasks/volumes/${name}/_data`,
    ...more,
  };
}

const mount = (type: string, source: string, target: string, options: string[] = []): types.Mount => ({ type, source, target, options });

describe('buildRuntimeSpec', () => {
  it('applies Docker\'s defaults, leaves the user to the agent, and annotates the container', () => {
    const s = buildRuntimeSpec(inputs());
    expect(s.ociVersion).toBe('1.0.2');
    expect(s.root).toEqual({ path: 'rootfs', readonly: false });
    expect(s.hostname).toBe('1234567890ab');
    expect(s.process.args).toEqual(['/entry', 'serve', '--port', '80']);
    expect(s.process.cwd).toBe('/srv');
    expect(s.process.env).toEqual(['PATH=/image/bin', 'HOSTNAME=1234567890ab', 'LANG=C']);
    expect(s.process.user).toEqual({ uid: 0, gid: 0 });
    expect(s.process.capabilities?.bounding).toEqual(ALL_CAPABILITIES.filter((c) => DEFAULT_CAPABILITIES.includes(c)));
    expect(s.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 }]);
    expect(s.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(s.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(s.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(s.linux.cgroupsPath).toBe(`/berth/${ID}`);
    expect(s.annotations).toEqual({
      [ANNOTATIONS.containerId]: ID,
      [ANNOTATIONS.containerName]: 'web',
      [ANNOTATIONS.namespace]: 'default',
      [ANNOTATIONS.image]: 'docker.io/library/busybox:latest',
    });
  });

  it('maps entrypoint and cmd overrides with Docker\'s rules', () => {
    const args = (spec: Partial<tasks.ContainerSpec>) => buildRuntimeSpec(inputs(spec)).process.args;
    expect(args({ cmd: { args: ['x', 'y'] } })).toEqual(['/entry', 'x', 'y']);
    expect(args({ entrypoint: { args: ['/other'] } })).toEqual(['/other']);
    expect(args({ entrypoint: { args: [] }, cmd: { args: ['ls'] } })).toEqual(['ls']);
    expect(() => args({ entrypoint: { args: [] } })).toThrow(expect.objectContaining({ code: 3, message: expect.stringContaining('no command specified') }));
  });

  it('maps env, working dir, hostname, domain, tty, read-only, shm, resources, capabilities, stop signal', () => {
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
        capAdd: ['net_admin'],
        capDrop: ['CHOWN'],
        stopSignal: 'SIGQUIT',
      }),
    );
    expect(s.process.env).toEqual(['HOSTNAME=box', 'TERM=xterm', 'LANG=fr', 'NEW=1']);
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
    expect(s.process.capabilities?.bounding).toContain('CAP_NET_ADMIN');
    expect(s.process.capabilities?.bounding).not.toContain('CAP_CHOWN');
    expect(s.annotations?.[STOP_SIGNAL_ANNOTATION]).toBe('SIGQUIT');
  });

  it('mounts binds, volumes (from their host directory) and tmpfs, parents first', () => {
    const s = buildRuntimeSpec(inputs({ mounts: [mount('bind', '/host/data/sub', '/data/sub', ['ro']), mount('volume', 'cache', '/data'), mount('tmpfs', '', '/dev/shm', ['exec', 'size=1m'])] }));
    expect(s.mounts.slice(-3)).toEqual([
      { destination: '/data', type: 'bind', source: '/var/lib/berth/tasks/volumes/cache/_data', options: ['rbind', 'rprivate'] },
      { destination: '/data/sub', type: 'bind', source: '/host/data/sub', options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
    ]);
    expect(s.mounts.filter((m) => m.destination === '/dev/shm')).toHaveLength(1);
  });

  it('a privileged container: every capability, no masked paths, writable sysfs; devices are the agent\'s', () => {
    const s = buildRuntimeSpec(inputs({ privileged: true, capDrop: ['ALL'] }));
    expect(s.process.capabilities?.bounding).toEqual(ALL_CAPABILITIES);
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.linux.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux.devices).toBeUndefined();
    expect(s.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  it('host networking: no network namespace, the host\'s name, no network sysctls', () => {
    const spec = { networks: [{ network: 'host', aliases: [], ipAddress: '' }] };
    expect(networkMode(tasks.ContainerSpec.fromPartial(spec))).toBe('host');
    const s = buildRuntimeSpec(inputs(spec));
    expect(s.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(s.hostname).toBe('the-host');
    expect(s.linux.sysctl).toBeUndefined();
  });

  it('--init runs the node\'s init binary in front; refused clearly when the node has none', () => {
    const s = buildRuntimeSpec(inputs({ init: true }, { initBinary: '/usr/bin/tini' }));
    expect(s.process.args.slice(0, 2)).toEqual([INIT_PATH_IN_CONTAINER, '--']);
    expect(s.mounts).toContainEqual({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: '/usr/bin/tini', options: ['bind', 'ro', 'rprivate'] });
    expect(() => buildRuntimeSpec(inputs({ init: true }))).toThrow(expect.objectContaining({ code: 3, message: expect.stringContaining('no init binary') }));
  });

  it('what the builder refuses is INVALID_ARGUMENT naming the option', () => {
    expect(() => buildRuntimeSpec(inputs({}, { image: { Cmd: ['x'], StopSignal: 'SIGNOPE' } }))).toThrow(
      expect.objectContaining({ code: 3, message: 'image StopSignal: invalid signal "SIGNOPE"' }),
    );
  });
});

describe('users', () => {
  it('the user is the given one, else the image\'s, else the default', () => {
    expect(userOf({ user: 'app:users' }, { User: 'nobody' })).toBe('app:users');
    expect(userOf({ user: '' }, { User: 'nobody' })).toBe('nobody');
    expect(userOf({ user: '' }, {})).toBe('');
  });

  it('only the syntax is checked here', () => {
    expect(() => checkUserSpec('ghost:nogroup', 'user')).not.toThrow();
    expect(() => checkUserSpec('a b', 'user')).toThrow(expect.objectContaining({ code: 3, message: expect.stringContaining('user: invalid user "a b"') }));
  });
});

describe('exec process', () => {
  it('inherits the container process, overriding what the exec asks; the user stays the agent\'s', () => {
    const base = buildRuntimeSpec(inputs({ env: ['A=1'] })).process;
    const p = buildExecProcessFor(base, tasks.ProcessOptions.fromPartial({ args: ['id'], env: ['A=2'], workingDir: '/tmp', tty: true, user: 'nobody' }));
    expect(p.args).toEqual(['id']);
    expect(p.env).toContain('A=2');
    expect(p.cwd).toBe('/tmp');
    expect(p.terminal).toBe(true);
    expect(p.user).toEqual(base.user);
    expect(buildExecProcessFor(base, tasks.ProcessOptions.fromPartial({ args: ['x'], privileged: true })).capabilities?.bounding).toEqual(ALL_CAPABILITIES);
    expect(() => buildExecProcessFor(base, tasks.ProcessOptions.fromPartial({ args: [] }))).toThrow(expect.objectContaining({ code: 3, message: 'args: no command given' }));
  });
});

// buildSpec: Docker's defaults, the override rules and every option.
import { describe, expect, test } from 'vitest';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DOCKER_NOFILE,
  INIT_PATH_IN_CONTAINER,
  MASKED_PATHS,
  SpecError,
  STOP_SIGNAL_ANNOTATION,
  buildSpec,
  capabilitiesFromMask,
  capabilitySet,
  commandLine,
  defaultHostname,
  defaultNofile,
  withTaskEnvironment,
  type BuildSpecOptions,
} from '../src/index.js';

const ID = `1234567890ab${'c'.repeat(52)}`;
const image = { Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/image/bin', 'LANG=C'], WorkingDir: '/srv', StopSignal: 'SIGQUIT' };
const build = (opts: Partial<BuildSpecOptions> = {}, img: Parameters<typeof buildSpec>[0] = image) => buildSpec(img, { id: ID, ...opts });

/** The SpecError `fn` throws, checked to name `field`. */
function specError(fn: () => unknown, field: string): SpecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).field).toBe(field);
    return err as SpecError;
  }
  throw new Error(`expected a SpecError on ${field}`);
}

describe('defaults (Docker)', () => {
  const s = build();

  test('process: entrypoint + cmd, env in Docker\'s order, cwd, root, default caps, nofile', () => {
    expect(s.ociVersion).toBe('1.0.2');
    expect(s.process.args).toEqual(['/entry', 'serve', '--port', '80']);
    // PATH first (the image's replaces the default in place), HOSTNAME, then the image's env.
    expect(s.process.env).toEqual(['PATH=/image/bin', 'HOSTNAME=1234567890ab', 'LANG=C']);
    expect(s.process.cwd).toBe('/srv');
    // Unresolved: root, and no HOME (whoever resolves the user sets it).
    expect(s.process.user).toEqual({ uid: 0, gid: 0 });
    expect(s.process.terminal).toBe(false);
    expect(s.process.capabilities?.bounding).toEqual(ALL_CAPABILITIES.filter((c) => DEFAULT_CAPABILITIES.includes(c)));
    expect(s.process.capabilities?.effective).toEqual(s.process.capabilities?.bounding);
    expect(s.process.capabilities?.inheritable).toBeUndefined();
    expect(s.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: DOCKER_NOFILE, hard: DOCKER_NOFILE }]);
    expect(s.process.noNewPrivileges).toBe(false);
  });

  test('mounts, masked and read-only paths, devices, namespaces, cgroup, sysctls, stop signal', () => {
    expect(s.root).toEqual({ path: 'rootfs', readonly: false });
    expect(s.hostname).toBe('1234567890ab');
    expect(s.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(s.mounts.find((m) => m.destination === '/dev/shm')?.options).toContain(`size=${64 * 1024 * 1024}`);
    expect(s.mounts.find((m) => m.destination === '/sys')?.options).toContain('ro');
    expect(s.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options).toContain('ro');
    expect(s.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(s.linux.readonlyPaths).toContain('/proc/sys');
    expect(s.linux.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
    expect(s.linux.resources?.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(s.linux.devices).toBeUndefined();
    expect(s.linux.namespaces).toEqual([{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }]);
    expect(s.linux.cgroupsPath).toBe(`/berth/${ID}`);
    expect(s.linux.sysctl).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' });
    expect(s.annotations?.[STOP_SIGNAL_ANNOTATION]).toBe('SIGQUIT');
  });

  test('a default PATH when the image has none; TERM with a tty; "/" without a working dir', () => {
    const t = buildSpec({ Cmd: ['sh'] }, { id: 'x1', tty: true });
    expect(t.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=x1', 'TERM=xterm']);
    expect(t.process.terminal).toBe(true);
    expect(t.process.cwd).toBe('/');
    expect(t.annotations).toBeUndefined();
  });

  test('the open-files limit is Docker\'s, capped at the runtime host\'s hard limit', () => {
    expect(defaultNofile(undefined)).toBe(DOCKER_NOFILE);
    expect(defaultNofile(20_000)).toBe(20_000);
    expect(defaultNofile(4_000_000)).toBe(DOCKER_NOFILE);
    expect(build({ host: { nofileHardLimit: 4096 } }).process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 }]);
  });
});

describe('command line', () => {
  test('Docker\'s entrypoint/cmd override rules', () => {
    expect(commandLine(image, { cmd: ['x', 'y'] })).toEqual(['/entry', 'x', 'y']);
    expect(commandLine(image, { entrypoint: ['/other'] })).toEqual(['/other']);
    expect(commandLine(image, { entrypoint: ['/bin/sh'], cmd: ['-c', 'x'] })).toEqual(['/bin/sh', '-c', 'x']);
    expect(commandLine(image, { entrypoint: [], cmd: ['ls'] })).toEqual(['ls']);
    expect(commandLine({ Entrypoint: null, Cmd: ['a'] }, {})).toEqual(['a']);
    expect(specError(() => commandLine(image, { entrypoint: [] }), 'args').message).toMatch(/no command specified/);
    specError(() => commandLine({}, {}), 'args');
    specError(() => commandLine({}, { cmd: [''] }), 'args');
  });

  test('init runs in front of the command, bind-mounted read-only', () => {
    const s = build({ init: { path: '/usr/bin/tini-static' } });
    expect(s.process.args).toEqual([INIT_PATH_IN_CONTAINER, '--', '/entry', 'serve', '--port', '80']);
    expect(s.mounts).toContainEqual({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro', 'rprivate'] });
    specError(() => build({ init: { path: '/x' }, mounts: [{ type: 'tmpfs', target: INIT_PATH_IN_CONTAINER }] }), 'mounts');
  });
});

describe('user options', () => {
  test('env (replace in place, append, remove), cwd, resolved user with HOME, hostname, domain, tty, read-only, shm', () => {
    const s = build({
      env: ['LANG=fr', 'NEW=1', 'PATH'],
      cwd: '/w',
      user: { uid: 1000, gid: 50, additionalGids: [7], home: '/home/a' },
      hostname: 'box',
      domainname: 'example.org',
      tty: true,
      readonlyRootfs: true,
      shmSizeBytes: 1 << 20,
    });
    expect(s.process.env).toEqual(['HOSTNAME=box', 'TERM=xterm', 'LANG=fr', 'NEW=1', 'HOME=/home/a']);
    expect(s.process.cwd).toBe('/w');
    expect(s.process.user).toEqual({ uid: 1000, gid: 50, additionalGids: [7] });
    expect(s.process.terminal).toBe(true);
    expect(s.hostname).toBe('box');
    expect(s.domainname).toBe('example.org');
    expect(s.root.readonly).toBe(true);
    expect(s.mounts.find((m) => m.destination === '/dev/shm')?.options).toContain('size=1048576');
    // HOME given by the caller wins over the user's home.
    expect(build({ env: ['HOME=/h'], user: { uid: 1, gid: 1, additionalGids: [], home: '/u' } }).process.env).toContain('HOME=/h');
    expect(build({ env: ['HOME=/h'], user: { uid: 1, gid: 1, additionalGids: [], home: '/u' } }).process.env).not.toContain('HOME=/u');
  });

  test('bad env, cwd, shm size, id and oom score are refused naming the option', () => {
    specError(() => build({ env: ['=x'] }), 'env[0]');
    specError(() => build({ env: ['A B=1'] }), 'env[0]');
    specError(() => build({ cwd: 'relative' }), 'cwd');
    specError(() => build({}, { ...image, WorkingDir: 'rel' }), 'image WorkingDir');
    specError(() => build({ shmSizeBytes: -1 }), 'shmSizeBytes');
    specError(() => buildSpec(image, { id: '../x' }), 'id');
    specError(() => build({ oomScoreAdj: 5000 }), 'oomScoreAdj');
    expect(defaultHostname('my_app.v2-container')).toBe('my-app-v2-co');
  });

  test('memory, cpu, pids limits; swap only where the kernel accounts it', () => {
    const resources = { memoryBytes: 100 << 20, memorySwapBytes: 0, nanoCpus: 1.5e9, cpuShares: 512, cpusetCpus: '0', pidsLimit: 64 };
    expect(build({ resources, host: { swapAccounting: true } }).linux.resources).toMatchObject({
      memory: { limit: 100 << 20, swap: 200 << 20 },
      cpu: { quota: 150000, period: 100000, shares: 512, cpus: '0' },
      pids: { limit: 64 },
    });
    expect(build({ resources: { memoryBytes: 64 << 20, memorySwapBytes: -1 }, host: { swapAccounting: true } }).linux.resources?.memory).toEqual({ limit: 64 << 20, swap: -1 });
    expect(build({ resources: { memoryBytes: 64 << 20, memorySwapBytes: 96 << 20 }, host: { swapAccounting: true } }).linux.resources?.memory).toEqual({ limit: 64 << 20, swap: 96 << 20 });
    expect(build({ resources: { memoryBytes: 64 << 20, memorySwapBytes: 96 << 20 } }).linux.resources?.memory).toEqual({ limit: 64 << 20 });
    expect(build({ resources: { pidsLimit: -1 } }).linux.resources?.pids).toEqual({ limit: -1 });
    expect(build({ resources: {} }).linux.resources).toEqual({ devices: expect.any(Array) });
    specError(() => build({ resources: { memoryBytes: -5 } }), 'resources.memoryBytes');
    specError(() => build({ resources: { nanoCpus: 1.5 } }), 'resources.nanoCpus');
    specError(() => build({ resources: { pidsLimit: -2 } }), 'resources.pidsLimit');
    specError(() => build({ resources: { cpusetCpus: '0-' } }), 'resources.cpusetCpus');
  });

  test('capabilities: add, drop, ALL on either side, an add beating a drop, privileged, unknown ones', () => {
    const add = capabilitySet({ capAdd: ['net_admin', 'CAP_SYS_TIME'] });
    expect(add).toEqual(expect.arrayContaining(['CAP_NET_ADMIN', 'CAP_SYS_TIME', 'CAP_CHOWN']));
    const drop = capabilitySet({ capDrop: ['CHOWN', 'cap_kill'] });
    expect(drop).not.toContain('CAP_CHOWN');
    expect(drop).toHaveLength(DEFAULT_CAPABILITIES.length - 2);
    expect(capabilitySet({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] })).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(capabilitySet({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] })).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(capabilitySet({ capAdd: ['NET_RAW'], capDrop: ['NET_RAW'] })).toContain('CAP_NET_RAW');
    expect(capabilitySet({ privileged: true, capDrop: ['ALL'] })).toEqual(ALL_CAPABILITIES);
    expect(build({ capAdd: ['SYS_PTRACE'] }).process.capabilities?.permitted).toContain('CAP_SYS_PTRACE');
    expect(specError(() => capabilitySet({ capAdd: ['FLY'] }), 'capAdd[0]').message).toContain('unknown capability "FLY"');
  });

  test('capability masks decode by number; unknown bits are ignored', () => {
    expect(capabilitiesFromMask('000001ffffffffff')).toEqual(ALL_CAPABILITIES);
    // This machine's kind of bounding set: everything but CAP_SYS_RESOURCE (24).
    expect(capabilitiesFromMask('000001fffeffffff')).toEqual(ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'));
    expect(capabilitiesFromMask(0b100001n)).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    expect(capabilitiesFromMask('0xffffffffffffffff')).toHaveLength(ALL_CAPABILITIES.length);
    expect(capabilitiesFromMask('0')).toEqual([]);
  });

  test('privileged: every capability, all devices allowed, the given devices, no masks, writable sysfs', () => {
    const dev = { type: 'c' as const, path: '/dev/fuse', major: 10, minor: 229 };
    const s = build({ privileged: true, devices: [dev] });
    expect(s.process.capabilities?.bounding).toEqual(ALL_CAPABILITIES);
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.linux.readonlyPaths).toBeUndefined();
    expect(s.linux.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux.devices).toEqual([dev]);
    expect(s.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  test('an extra device of an unprivileged container gets its cgroup rule', () => {
    const s = build({ devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }] });
    expect(s.linux.resources?.devices).toContainEqual({ allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' });
    specError(() => build({ devices: [{ type: 'c', path: 'dev/x', major: 1, minor: 1 }] }), 'devices[0].path');
  });

  test('mounts: binds (ro, non-recursive, propagation), tmpfs options, parents first (stable), replacing a standard mount', () => {
    const s = build({
      mounts: [
        { type: 'bind', source: '/host/data/sub', target: '/data/sub', options: ['ro'] },
        { type: 'bind', source: '/var/lib/berth/volumes/cache', target: '/data/' },
        { type: 'tmpfs', target: '/dev/shm', options: ['exec', 'size=1m'] },
        { type: 'bind', source: '/srv', target: '/srv', options: ['bind', 'rslave', 'rw'] },
      ],
    });
    expect(s.mounts.slice(-4)).toEqual([
      { destination: '/data', type: 'bind', source: '/var/lib/berth/volumes/cache', options: ['rbind', 'rprivate'] },
      { destination: '/srv', type: 'bind', source: '/srv', options: ['bind', 'rslave'] },
      { destination: '/data/sub', type: 'bind', source: '/host/data/sub', options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
    ]);
    expect(s.mounts.filter((m) => m.destination === '/dev/shm')).toHaveLength(1);
    // A mount over /dev hides every standard mount below it.
    expect(build({ mounts: [{ type: 'tmpfs', target: '/dev' }] }).mounts.map((m) => m.destination)).toEqual(['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
    specError(() => build({ mounts: [{ type: 'bind', source: 'rel', target: '/x' }] }), 'mounts[0].source');
    specError(() => build({ mounts: [{ type: 'bind', source: '/a', target: '/' }] }), 'mounts[0].target');
    specError(() => build({ mounts: [{ type: 'tmpfs', target: '/t' }, { type: 'tmpfs', target: '/t/' }] }), 'mounts[1].target');
    specError(() => build({ mounts: [{ type: 'nfs', target: '/t' } as never] }), 'mounts[0].type');
  });

  test('networks: a namespace to join, the host\'s (with its hostname, no sysctls), a cgroup namespace', () => {
    expect(build({ network: { path: '/run/netns/n1' } }).linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/n1' });
    const host = build({ network: 'host', host: { hostname: 'the-host' } });
    expect(host.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount']);
    expect(host.hostname).toBe('the-host');
    expect(host.process.env).toContain('HOSTNAME=the-host');
    expect(host.linux.sysctl).toBeUndefined();
    // Not knowing the host's name, the spec leaves it to the UTS namespace runc copies from the host.
    const unnamed = build({ network: 'host' });
    expect(unnamed.hostname).toBeUndefined();
    expect(unnamed.process.env.some((e) => e.startsWith('HOSTNAME='))).toBe(false);
    expect(build({ cgroupNamespace: true }).linux.namespaces).toContainEqual({ type: 'cgroup' });
    specError(() => build({ network: { path: 'rel' } }), 'network.path');
    specError(() => build({ network: 'bridge' as never }), 'network');
  });

  test('stop signal, ulimits, sysctls, annotations, cgroups path', () => {
    expect(build({ stopSignal: '9' }).annotations?.[STOP_SIGNAL_ANNOTATION]).toBe('SIGKILL');
    expect(build({ stopSignal: 'rtmin+2' }).annotations?.[STOP_SIGNAL_ANNOTATION]).toBe('SIGRTMIN+2');
    specError(() => build({ stopSignal: 'SIGFOO' }), 'stopSignal');
    specError(() => build({}, { ...image, StopSignal: 'SIGFOO' }), 'image StopSignal');
    const ul = build({ ulimits: [{ name: 'nofile', soft: 100, hard: 200 }, { name: 'nproc', soft: -1, hard: -1 }] });
    expect(ul.process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 100, hard: 200 },
      { type: 'RLIMIT_NPROC', soft: Number.MAX_SAFE_INTEGER, hard: Number.MAX_SAFE_INTEGER },
    ]);
    specError(() => build({ ulimits: [{ name: 'nofile', soft: 300, hard: 200 }] }), 'ulimits[0]');
    specError(() => build({ ulimits: [{ name: 'no file', soft: 1, hard: 1 }] }), 'ulimits[0].name');
    expect(build({ sysctls: { 'net.core.somaxconn': '1024' } }).linux.sysctl).toMatchObject({ 'net.core.somaxconn': '1024' });
    specError(() => build({ sysctls: { 'bad key': '1' } }), 'sysctls.bad key');
    expect(build({ annotations: { 'org.berth.container.id': ID } }).annotations).toMatchObject({ 'org.berth.container.id': ID });
    expect(build({ cgroupsPath: '/custom/x/' }).linux.cgroupsPath).toBe('/custom/x');
  });
});

describe('task environment', () => {
  test('joins the network namespace and mounts the name files unless the user mounted over one; base untouched', () => {
    const base = build({ mounts: [{ type: 'bind', source: '/etc', target: '/etc/hosts' }], readonlyRootfs: true });
    const s = withTaskEnvironment(base, {
      netnsPath: '/run/netns/x',
      nameFiles: { hostsPath: '/f/hosts', hostnamePath: '/f/hostname', resolvConfPath: '/f/resolv.conf' },
    });
    expect(s.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/x' });
    const dests = s.mounts.map((m) => m.destination);
    expect(dests.filter((d) => d === '/etc/hosts')).toHaveLength(1); // the user's mount wins
    expect(s.mounts).toContainEqual({ destination: '/etc/resolv.conf', type: 'bind', source: '/f/resolv.conf', options: ['rbind', 'rprivate', 'ro'] });
    expect(dests).toContain('/etc/hostname');
    expect(base.linux.namespaces).toContainEqual({ type: 'network' });
    expect(base.mounts.map((m) => m.destination)).not.toContain('/etc/resolv.conf');
  });
});

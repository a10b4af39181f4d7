// buildSpec and user resolution: Docker's defaults and override rules.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  buildSpec,
  defaultHostname,
  mergeEnv,
  resolveArgs,
  resolveCapabilities,
} from '../src/spec/build-spec.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, STOP_SIGNAL_ANNOTATION } from '../src/spec/defaults.js';
import { SpecError } from '../src/spec/errors.js';
import { resolveInRoot } from '../src/spec/rootfs-path.js';
import { parseGroup, parsePasswd, resolveUser, resolveUserSpec } from '../src/spec/user.js';
import { devMajorMinor, listHostDevices } from '../src/spec/host-devices.js';

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

const image = { Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/opt/bin:/bin', 'A=1'], WorkingDir: '/app', StopSignal: 'SIGQUIT' };

describe('buildSpec defaults (Docker)', () => {
  const spec = buildSpec(image, { id: 'abcdef0123456789' });

  test('process: image entrypoint + cmd, env, cwd, root user, default caps, nofile', () => {
    expect(spec.process?.args).toEqual(['/entry', 'serve', '--port', '80']);
    // Docker's order: HOSTNAME (and PATH only when the image has none) first, then the image's env.
    expect(spec.process?.env).toEqual(['HOSTNAME=abcdef012345', 'PATH=/opt/bin:/bin', 'A=1']);
    expect(spec.process?.cwd).toBe('/app');
    expect(spec.process?.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process?.terminal).toBe(false);
    expect(new Set(spec.process?.capabilities?.bounding)).toEqual(new Set(DEFAULT_CAPABILITIES));
    expect(spec.process?.capabilities?.effective).toEqual(spec.process?.capabilities?.bounding);
    expect(spec.process?.capabilities?.inheritable).toBeUndefined();
    expect(spec.process?.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
    expect(spec.process?.noNewPrivileges).toBe(false);
  });

  test('mounts, masked and readonly paths, devices, namespaces, cgroup, stop signal', () => {
    const dests = spec.mounts?.map((m) => m.destination);
    expect(dests).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(spec.mounts?.find((m) => m.destination === '/dev/shm')?.options).toContain('size=67108864');
    expect(spec.mounts?.find((m) => m.destination === '/sys')?.options).toContain('ro');
    expect(spec.linux?.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(spec.linux?.readonlyPaths).toContain('/proc/sys');
    expect(spec.linux?.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
    expect(spec.linux?.resources?.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'ipc', 'mount', 'uts', 'network']);
    expect(spec.linux?.cgroupsPath).toBe('/berth/abcdef0123456789');
    expect(spec.hostname).toBe('abcdef012345');
    expect(spec.root).toEqual({ path: 'rootfs', readonly: false });
    expect(spec.annotations?.[STOP_SIGNAL_ANNOTATION]).toBe('SIGQUIT');
  });

  test('a default PATH when the image has none; TERM with a tty', () => {
    const s = buildSpec({ Cmd: ['sh'] }, { id: 'x1', tty: true });
    expect(s.process?.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=x1',
      'TERM=xterm',
    ]);
    expect(s.process?.terminal).toBe(true);
  });
});

describe('buildSpec user options', () => {
  test('args, entrypoint override semantics', () => {
    expect(resolveArgs(image, { args: ['run'] })).toEqual(['/entry', 'run']);
    expect(resolveArgs(image, { entrypoint: ['/bin/sh'] })).toEqual(['/bin/sh']);
    expect(resolveArgs(image, { entrypoint: ['/bin/sh'], args: ['-c', 'x'] })).toEqual(['/bin/sh', '-c', 'x']);
    expect(resolveArgs(image, { entrypoint: [], args: ['ls'] })).toEqual(['ls']);
    expect(resolveArgs({ Cmd: ['a'] }, { init: { path: '/usr/bin/tini' } })).toEqual(['/sbin/berth-init', '--', 'a']);
    specError(() => resolveArgs({}, {}), 'args');
    specError(() => resolveArgs(image, { entrypoint: [] }), 'args');
  });

  test('env overrides by key, in place; bad entries are refused', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'])).toEqual(['A=1', 'B=3', 'C=4']);
    const s = buildSpec(image, { id: 'e1', env: ['A=2', 'HOME=/h'] });
    expect(s.process?.env).toContain('A=2');
    expect(s.process?.env).not.toContain('A=1');
    specError(() => buildSpec(image, { id: 'e1', env: ['NOVALUE'] }), 'env[0]');
    specError(() => buildSpec(image, { id: 'e1', env: ['=x'] }), 'env[0]');
  });

  test('cwd, user, hostname, readonly rootfs, shm size', () => {
    const s = buildSpec(image, {
      id: 'u1',
      cwd: '/work',
      user: { uid: 1000, gid: 50, additionalGids: [7], home: '/home/a' },
      hostname: 'web-1',
      readonlyRootfs: true,
      shmSize: 1024 * 1024,
    });
    expect(s.process?.cwd).toBe('/work');
    expect(s.process?.user).toEqual({ uid: 1000, gid: 50, additionalGids: [7] });
    expect(s.process?.env).toContain('HOME=/home/a');
    expect(s.hostname).toBe('web-1');
    expect(s.root?.readonly).toBe(true);
    expect(s.mounts?.find((m) => m.destination === '/dev/shm')?.options).toContain('size=1048576');
    expect(buildSpec({ ...image, User: '33:44' }, { id: 'u2' }).process?.user).toEqual({ uid: 33, gid: 44 });
    specError(() => buildSpec({ ...image, User: 'www-data' }, { id: 'u3' }), 'image User');
    specError(() => buildSpec(image, { id: 'u4', cwd: 'relative' }), 'cwd');
    specError(() => buildSpec(image, { id: 'u5', hostname: 'bad_host!' }), 'hostname');
    specError(() => buildSpec(image, { id: 'u6', shmSize: 0 }), 'shmSize');
    expect(defaultHostname('my_app.v2-container')).toBe('my-app-v2-co');
  });

  test('memory, cpus, pids limits; absurd values refused', () => {
    const s = buildSpec(image, { id: 'l1', memory: 128 * 1024 * 1024, memorySwap: 256 * 1024 * 1024, cpus: 1.5, pidsLimit: 100, cpuShares: 512 });
    expect(s.linux?.resources?.memory).toEqual({ limit: 134217728, swap: 268435456 });
    expect(s.linux?.resources?.cpu).toEqual({ period: 100000, quota: 150000, shares: 512 });
    expect(s.linux?.resources?.pids).toEqual({ limit: 100 });
    expect(buildSpec(image, { id: 'l2', pidsLimit: -1 }).linux?.resources?.pids).toBeUndefined();
    specError(() => buildSpec(image, { id: 'l3', memory: 1024 }), 'memory');
    specError(() => buildSpec(image, { id: 'l3', memory: -5 }), 'memory');
    specError(() => buildSpec(image, { id: 'l3', cpus: 0 }), 'cpus');
    specError(() => buildSpec(image, { id: 'l3', cpus: 64, hostCpus: 2 }), 'cpus');
    specError(() => buildSpec(image, { id: 'l3', pidsLimit: 1.5 }), 'pidsLimit');
    specError(() => buildSpec(image, { id: 'l3', memorySwap: 10 }), 'memorySwap');
    specError(() => buildSpec(image, { id: 'l3', memory: 64 * 1024 * 1024, memorySwap: 1 }), 'memorySwap');
    specError(() => buildSpec(image, { id: 'l3', cpuShares: 1 }), 'cpuShares');
  });

  test('capabilities: add, drop, ALL, privileged', () => {
    const add = resolveCapabilities({ capAdd: ['net_admin', 'CAP_SYS_TIME'] });
    expect(add).toContain('CAP_NET_ADMIN');
    expect(add).toContain('CAP_SYS_TIME');
    expect(add).toContain('CAP_CHOWN');
    const drop = resolveCapabilities({ capDrop: ['CHOWN', 'NET_RAW'] });
    expect(drop).not.toContain('CAP_CHOWN');
    expect(drop).toHaveLength(DEFAULT_CAPABILITIES.length - 2);
    expect(resolveCapabilities({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] })).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(resolveCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] })).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(resolveCapabilities({ capAdd: ['NET_RAW'], capDrop: ['NET_RAW'] })).toContain('CAP_NET_RAW');
    expect(resolveCapabilities({ privileged: true })).toEqual(ALL_CAPABILITIES);
    specError(() => resolveCapabilities({ capAdd: ['FLY'] }), 'capAdd[0]');
  });

  test('privileged: all caps, no masks, all devices, rw sysfs', () => {
    const dev = { type: 'c' as const, path: '/dev/kmsg', major: 1, minor: 11 };
    const s = buildSpec(image, { id: 'p1', privileged: true, hostDevices: [dev] });
    expect(s.process?.capabilities?.bounding).toEqual(ALL_CAPABILITIES);
    expect(s.linux?.maskedPaths).toEqual([]);
    expect(s.linux?.readonlyPaths).toEqual([]);
    expect(s.linux?.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux?.devices).toEqual([dev]);
    expect(s.mounts?.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  test('mounts: binds with ro/propagation, tmpfs, volumes, replacing defaults; bad ones refused', () => {
    const s = buildSpec(image, {
      id: 'm1',
      mounts: [
        { type: 'bind', source: '/srv/data', target: '/data/', readonly: true, propagation: 'rslave' },
        { type: 'tmpfs', target: '/dev/shm', sizeBytes: 2048, mode: 0o1777 },
        { type: 'volume', source: '/var/lib/berth/volumes/v1', target: '/data/cache' },
      ],
    });
    const user = s.mounts?.slice(-3);
    expect(user).toEqual([
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rslave'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=2048', 'mode=1777'] },
      { destination: '/data/cache', type: 'bind', source: '/var/lib/berth/volumes/v1', options: ['rbind', 'rw', 'rprivate'] },
    ]);
    expect(s.mounts?.filter((m) => m.destination === '/dev/shm')).toHaveLength(1);
    specError(() => buildSpec(image, { id: 'm2', mounts: [{ type: 'bind', source: 'rel', target: '/x' }] }), 'mounts[0].source');
    specError(() => buildSpec(image, { id: 'm2', mounts: [{ type: 'bind', source: '/a', target: '/' }] }), 'mounts[0].target');
    specError(
      () => buildSpec(image, { id: 'm2', mounts: [{ type: 'tmpfs', target: '/t' }, { type: 'tmpfs', target: '/t/' }] }),
      'mounts[1].target',
    );
    specError(() => buildSpec(image, { id: 'm2', mounts: [{ type: 'nfs', target: '/t' } as never] }), 'mounts[0].type');
  });

  test('namespaces: network by path, host network', () => {
    const byPath = buildSpec(image, { id: 'n1', network: { path: '/run/netns/berth-n1' } });
    expect(byPath.linux?.namespaces).toContainEqual({ type: 'network', path: '/run/netns/berth-n1' });
    const host = buildSpec(image, { id: 'n2', network: 'host' });
    expect(host.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'ipc', 'mount']);
    expect(host.hostname).toBeUndefined();
    specError(() => buildSpec(image, { id: 'n3', network: 'host', hostname: 'x' }), 'hostname');
    expect(buildSpec(image, { id: 'n4', cgroupNamespace: true }).linux?.namespaces).toContainEqual({ type: 'cgroup' });
  });

  test('stop signal, init, ulimits, cgroup parent, ids', () => {
    expect(buildSpec(image, { id: 's1', stopSignal: '9' }).annotations?.[STOP_SIGNAL_ANNOTATION]).toBe('SIGKILL');
    specError(() => buildSpec(image, { id: 's1', stopSignal: 'SIGFOO' }), 'stopSignal');
    const init = buildSpec(image, { id: 's2', init: { path: '/usr/bin/tini-static' } });
    expect(init.process?.args.slice(0, 2)).toEqual(['/sbin/berth-init', '--']);
    expect(init.mounts).toContainEqual({ destination: '/sbin/berth-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro', 'rprivate'] });
    const ul = buildSpec(image, { id: 's3', ulimits: [{ name: 'nofile', soft: 100, hard: 200 }, { name: 'nproc', soft: -1, hard: -1 }] });
    expect(ul.process?.rlimits).toContainEqual({ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 });
    expect(ul.process?.rlimits).toHaveLength(2);
    specError(() => buildSpec(image, { id: 's4', ulimits: [{ name: 'nofile', soft: 300, hard: 200 }] }), 'ulimits[0]');
    expect(buildSpec(image, { id: 's5', cgroupParent: '/custom/' }).linux?.cgroupsPath).toBe('/custom/s5');
    specError(() => buildSpec(image, { id: '../x' }), 'id');
  });
});

describe('users from /etc/passwd and /etc/group', () => {
  const passwd = parsePasswd('root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n#comment\nbob:x:1001:100:::\n');
  const group = parseGroup('root:x:0:\nstaff:x:50:alice,bob\nusers:x:100:\nalice:x:1000:\nwheel:x:10:root\n');

  test('names, numbers, groups, supplementary groups', () => {
    expect(resolveUserSpec('', passwd, group)).toEqual({ uid: 0, gid: 0, additionalGids: [10], home: '/root' });
    expect(resolveUserSpec('alice', passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [50], home: '/home/alice' });
    expect(resolveUserSpec('1000', passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [50], home: '/home/alice' });
    expect(resolveUserSpec('alice:users', passwd, group)).toEqual({ uid: 1000, gid: 100, additionalGids: [], home: '/home/alice' });
    expect(resolveUserSpec('4242', passwd, group)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(resolveUserSpec('4242:4343', passwd, group)).toEqual({ uid: 4242, gid: 4343, additionalGids: [], home: '/' });
    expect(resolveUserSpec('bob', passwd, group, ['wheel', '77'])).toEqual({ uid: 1001, gid: 100, additionalGids: [50, 10, 77], home: '/' });
    expect(resolveUserSpec('0', undefined, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
  });

  test('unknown names and bad specs are clear errors', () => {
    expect(specError(() => resolveUserSpec('mallory', passwd, group), 'user').message).toContain('unable to find user mallory');
    expect(specError(() => resolveUserSpec('alice:nogroup', passwd, group), 'user').message).toContain('unable to find group nogroup');
    specError(() => resolveUserSpec('a:b:c', passwd, group), 'user');
    specError(() => resolveUserSpec('alice:', passwd, group), 'user');
    specError(() => resolveUserSpec('99999999999', passwd, group), 'user');
    specError(() => resolveUserSpec('alice', passwd, group, ['nope']), 'groupAdd');
  });
});

describe('reading files inside a rootfs', () => {
  const base = mkdtempSync('/tmp/berth-agent-rootfs-');
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  test('symlinks resolve inside the rootfs; .. cannot climb out', async () => {
    const host = join(base, 'host');
    const rootfs = join(base, 'rootfs');
    mkdirSync(join(host, 'etc'), { recursive: true });
    writeFileSync(join(host, 'etc/passwd'), 'root:x:0:0:HOST:/root:/bin/sh\neve:x:666:666::/:/bin/sh\n');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(join(rootfs, 'real'), { recursive: true });
    writeFileSync(join(rootfs, 'real/passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    // /etc/passwd -> ../../../../host/etc/passwd: must stay in the rootfs and not find eve.
    symlinkSync('../../../../host/etc/passwd', join(rootfs, 'etc/passwd'));
    expect(await resolveInRoot(rootfs, '/etc/passwd')).toBe(join(rootfs, 'host/etc/passwd'));
    await expect(resolveUser(rootfs, 'eve')).rejects.toThrow(/unable to find user eve/);
    // An absolute link is re-rooted at the rootfs.
    rmSync(join(rootfs, 'etc/passwd'));
    symlinkSync('/real/passwd', join(rootfs, 'etc/passwd'));
    expect(await resolveUser(rootfs, 'alice')).toMatchObject({ uid: 1000, gid: 1000 });
    // A link loop is an error, not a hang.
    symlinkSync('loop-b', join(rootfs, 'etc/loop-a'));
    symlinkSync('loop-a', join(rootfs, 'etc/loop-b'));
    await expect(resolveInRoot(rootfs, '/etc/loop-a')).rejects.toThrow(/too many symlinks/);
    // /etc/group as a directory is refused clearly.
    mkdirSync(join(rootfs, 'etc/group'));
    await expect(resolveUser(rootfs, 'alice')).rejects.toThrow(/not a regular file/);
  });
});

describe('host devices', () => {
  test('dev_t decoding and the /dev scan', async () => {
    expect(devMajorMinor(0x0103n)).toEqual({ major: 1, minor: 3 });
    expect(devMajorMinor((259n << 8n) | 5n)).toEqual({ major: 259, minor: 5 });
    const devices = await listHostDevices();
    expect(devices).toContainEqual(expect.objectContaining({ path: '/dev/null', type: 'c', major: 1, minor: 3 }));
  });
});

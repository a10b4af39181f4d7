// The node's side of spec building: reading the image's passwd and group
// inside a mounted rootfs without escaping it, the host's devices, and what
// the node adds to a spec at create.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildSpec, SpecError } from '@berth/runtime-spec';
import { ContainerError } from '../src/errors.js';
import { readFileInRoot, resolveInRoot, RootfsFileError } from '../src/spec/rootfs-path.js';
import { resolveUserInRootfs } from '../src/spec/rootfs-user.js';
import { devMajorMinor, listHostDevices } from '../src/spec/host-devices.js';
import { parseEffectiveCapabilities } from '../src/spec/host-capabilities.js';
import { specForNode, withDevices } from '../src/runtime/node-spec.js';

const base = mkdtempSync('/tmp/berth-agent-rootfs-');
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A rootfs with the given files (path -> content). */
function rootfs(name: string, files: Record<string, string>): string {
  const dir = join(base, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  mkdirSync(join(dir, 'etc'), { recursive: true });
  return dir;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n';
const GROUP = 'root:x:0:\nstaff:x:50:alice\nalice:x:1000:\n';

describe('reading files inside a rootfs', () => {
  test('symlinks resolve inside the rootfs; .. cannot climb out', async () => {
    const host = join(base, 'host');
    mkdirSync(join(host, 'etc'), { recursive: true });
    writeFileSync(join(host, 'etc/passwd'), 'root:x:0:0:HOST:/root:/bin/sh\neve:x:666:666::/:/bin/sh\n');
    const root = rootfs('links', { 'real/passwd': PASSWD });
    // /etc/passwd -> ../../../../host/etc/passwd: must stay in the rootfs and not find eve.
    symlinkSync('../../../../host/etc/passwd', join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/etc/passwd')).toBe(join(root, 'host/etc/passwd'));
    expect(await readFileInRoot(root, '/etc/passwd')).toBeUndefined();
    await expect(resolveUserInRootfs(root, 'eve')).rejects.toThrow('user: unable to find user eve: there is no passwd file');
    // An absolute link is re-rooted at the rootfs.
    rmSync(join(root, 'etc/passwd'));
    symlinkSync('/real/passwd', join(root, 'etc/passwd'));
    expect(await resolveUserInRootfs(root, 'alice')).toEqual({ uid: 1000, gid: 1000, additionalGids: [], home: '/home/alice' });
    // A link loop is an error, not a hang.
    symlinkSync('loop-b', join(root, 'etc/loop-a'));
    symlinkSync('loop-a', join(root, 'etc/loop-b'));
    await expect(resolveInRoot(root, '/etc/loop-a')).rejects.toThrow(RootfsFileError);
    await expect(resolveInRoot(root, '/etc/loop-a')).rejects.toThrow(/too many symlinks/);
  });

  test('the user is resolved with the image\'s groups; unusable files are SpecErrors', async () => {
    const root = rootfs('users', { 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(await resolveUserInRootfs(root, 'alice')).toEqual({ uid: 1000, gid: 1000, additionalGids: [50], home: '/home/alice' });
    expect(await resolveUserInRootfs(root, 'alice:staff')).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: '/home/alice' });
    expect(await resolveUserInRootfs(root, '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
    await expect(resolveUserInRootfs(root, 'alice:wheel')).rejects.toThrow('unable to find group wheel: no matching entries in group file');
    // /etc/group as a directory is refused clearly, as a SpecError naming the file.
    const dirGroup = rootfs('dir-group', { 'etc/passwd': PASSWD });
    mkdirSync(join(dirGroup, 'etc/group'));
    const err = await resolveUserInRootfs(dirGroup, 'alice').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).message).toMatch(/^user: cannot read \/etc\/group of the container: .* is not a regular file$/);
  });
});

describe('what the node adds to a spec', () => {
  test('the user from the rootfs (HOME unless set), the node\'s devices, checked bind sources', async () => {
    const root = rootfs('node', { 'etc/passwd': PASSWD, 'etc/group': GROUP });
    const spec = buildSpec({ Cmd: ['id'] }, { id: 'node1' });
    const out = await specForNode('node1', spec, root, { user: 'alice' });
    expect(out.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [50] });
    expect(out.process.env).toContain('HOME=/home/alice');
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 }); // the given spec is untouched
    // Without a user, process.user is left as given.
    expect((await specForNode('node1', spec, root, {})).process).toEqual(spec.process);

    const err = await specForNode('node1', spec, root, { user: 'ghost' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'container node1: cannot run as user "ghost": unable to find user ghost: no matching entries in passwd file' });

    // Privileged: the node's devices, and exactly the capabilities the agent holds (this process's CapEff).
    const privileged = await specForNode('node1', buildSpec({ Cmd: ['id'] }, { id: 'node1', privileged: true }), root, { privileged: true });
    expect(privileged.linux.devices).toContainEqual(expect.objectContaining({ path: '/dev/null', type: 'c', major: 1, minor: 3 }));
    const own = parseEffectiveCapabilities(readFileSync('/proc/self/status', 'utf8'));
    expect(privileged.process.capabilities).toEqual({ bounding: own, effective: own, permitted: own });
    expect(own).toContain('CAP_SYS_ADMIN');

    const bind = buildSpec({ Cmd: ['id'] }, { id: 'node1', mounts: [{ type: 'bind', source: '/no/such/source', target: '/data' }] });
    await expect(specForNode('node1', bind, root, {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('(/data): bind source /no/such/source does not exist'),
    });
  });

  test('withDevices keeps the spec\'s own device at a path', () => {
    const spec = buildSpec({ Cmd: ['id'] }, { id: 'd1', devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600 }] });
    const out = withDevices(spec, [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o666 },
      { type: 'c', path: '/dev/kmsg', major: 1, minor: 11 },
    ]);
    expect(out.linux.devices).toEqual([
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600 },
      { type: 'c', path: '/dev/kmsg', major: 1, minor: 11 },
    ]);
  });
});

describe('host capabilities', () => {
  test('CapEff of a process status, by name', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000021\n';
    expect(parseEffectiveCapabilities(status)).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    expect(() => parseEffectiveCapabilities('Name:\tx\n')).toThrow(/CapEff/);
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

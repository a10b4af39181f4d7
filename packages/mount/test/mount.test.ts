// Real mounts (root): overlay, bind, tmpfs in a temp dir, always taken down again.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MountError,
  isMountPoint,
  mountAll,
  mountsAt,
  mountsUnder,
  overlayUpperInUse,
  unmount,
  unmountAll,
  unmountUnder,
  MountSyscalls,
  syscallArgs,
  type Mount,
  type MountTools,
} from '../src/index.js';

let base = '';

beforeAll(() => {
  for (const bin of ['mount', 'umount']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`these tests need the ${bin} binary (util-linux), which is not installed`);
    }
  }
  if (process.getuid?.() !== 0) throw new Error('these tests need root (they mount overlay, bind and tmpfs filesystems)');
  base = mkdtempSync(join(tmpdir(), 'berth-mount-'));
});

afterAll(async () => {
  if (!base) return;
  await unmountUnder(base);
  rmSync(base, { recursive: true, force: true });
});

function layer(name: string, files: Record<string, string> = {}): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

function overlay(name: string, lowers: string[]): { mount: Mount; upper: string } {
  const upper = layer(`${name}/upper`);
  const work = layer(`${name}/work`);
  return { mount: { type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`] }, upper };
}

describe('mountAll / unmountAll', () => {
  it('overlay: layers merge, writes go to the upper dir; idempotent both ways; the upper dir shows as in use', async () => {
    const l1 = layer('ov/l1', { a: 'from l1', b: 'from l1' });
    const l2 = layer('ov/l2', { b: 'from l2' });
    const { mount, upper } = overlay('ov', [l2, l1]);
    const target = join(base, 'ov/rootfs');
    expect(await overlayUpperInUse(upper)).toBe(false);
    await mountAll([mount], target);
    expect(readFileSync(join(target, 'a'), 'utf8')).toBe('from l1');
    expect(readFileSync(join(target, 'b'), 'utf8')).toBe('from l2');
    writeFileSync(join(target, 'c'), 'new');
    expect(readFileSync(join(upper, 'c'), 'utf8')).toBe('new');
    expect(await overlayUpperInUse(upper)).toBe(true);
    await mountAll([mount], target);
    expect((await mountsAt(target)).map((m) => m.fsType)).toEqual(['overlay']);
    await unmountAll(target);
    expect(await isMountPoint(target)).toBe(false);
    expect(existsSync(join(target, 'a'))).toBe(false);
    expect(await overlayUpperInUse(upper)).toBe(false);
    await unmountAll(target);
    await unmountAll(join(base, 'never-existed'));
  });

  it('bind read-only, tmpfs, and a mount into a subdirectory of the target', async () => {
    const src = layer('bind/src', { f: 'x' });
    mkdirSync(join(src, 'sub'));
    const target = join(base, 'bind/rootfs');
    await mountAll(
      [
        { type: 'bind', source: src, options: ['rbind', 'ro'] },
        { type: 'tmpfs', source: 'tmpfs', target: 'sub', options: ['size=1m', 'mode=0700'] },
      ],
      target,
    );
    expect(readFileSync(join(target, 'f'), 'utf8')).toBe('x');
    expect(() => writeFileSync(join(target, 'g'), 'y')).toThrow(/EROFS|read-only/);
    writeFileSync(join(target, 'sub', 'scratch'), 'z');
    expect((await mountsAt(join(target, 'sub')))[0]?.fsType).toBe('tmpfs');
    expect(await mountsUnder(target)).toEqual([join(target, 'sub'), target]);
    await unmountUnder(target);
    expect(await mountsUnder(target)).toEqual([]);
    expect(existsSync(join(src, 'sub', 'scratch'))).toBe(false);
  });

  it('all or nothing: a failing mount takes down the ones made before it, and the error names the cause', async () => {
    const target = join(base, 'fail/rootfs');
    const lower = layer('fail/lower', { f: 'x' });
    const missingUpper = join(base, 'fail/no-upper');
    const checked = await mountAll(
      [
        { type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
        { type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${missingUpper}`, `workdir=${lower}`] },
      ],
      target,
    ).catch((e: unknown) => e);
    expect(checked).toBeInstanceOf(MountError);
    expect(checked).toMatchObject({ target, message: `cannot mount overlay on ${target}: upperdir ${missingUpper} does not exist` });
    expect(await mountsAt(target)).toEqual([]);
    // mount(8) itself refusing: its exit code and message are kept
    const refused = await mountAll(
      [
        { type: 'tmpfs', source: 'tmpfs', options: [] },
        { type: 'nosuchfs', source: 'x', options: [] },
      ],
      target,
    ).catch((e: unknown) => e);
    expect((refused as MountError).message).toMatch(new RegExp(`^cannot mount nosuchfs x on ${target}: exit code \\d+: .+`));
    expect(await mountsUnder(target)).toEqual([]);
  });

  it('a partial stack (a crash mid-way) is taken down and rebuilt', async () => {
    const a = layer('partial/a', { which: 'a' });
    const target = join(base, 'partial/rootfs');
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], target);
    await mountAll(
      [
        { type: 'bind', source: a, options: ['rbind'] },
        { type: 'tmpfs', source: 'tmpfs', options: [] },
      ],
      target,
    );
    expect((await mountsAt(target)).length).toBe(2);
    await unmountAll(target);
    expect(await isMountPoint(target)).toBe(false);
  });

  it('many layers: options longer than a page are mounted from their common directory', async () => {
    const lowers: string[] = [];
    for (let i = 0; i < 70; i++) lowers.push(layer(`many/snapshots/a-rather-long-snapshot-directory-name-${String(i).padStart(3, '0')}/fs`, { [`file-${i}`]: String(i) }));
    const { mount } = overlay('many/snapshots/top', lowers);
    expect(mount.options.join(',').length).toBeGreaterThan(4096);
    const target = join(base, 'many/rootfs');
    await mountAll([mount], target);
    expect(readFileSync(join(target, 'file-0'), 'utf8')).toBe('0');
    expect(readFileSync(join(target, 'file-69'), 'utf8')).toBe('69');
    await unmountAll(target);
  });
});

describe('unmount helpers', () => {
  it('unmount takes one mount off and refuses a target that is not mounted; unmountAll takes the stack', async () => {
    const target = layer('stack/t');
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], target);
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }, { type: 'tmpfs', source: 'tmpfs', options: [] }], target);
    expect((await mountsAt(target)).length).toBe(2);
    await unmount(target);
    expect((await mountsAt(target)).length).toBe(1);
    await unmountAll(target);
    const err = await unmount(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MountError);
    expect((err as MountError).message).toMatch(new RegExp(`^cannot unmount ${target}: exit code \\d+: .*not mounted`));
  });

  it('unmountUnder takes down nested and busy mounts, deepest first, and reports them', async () => {
    const root = layer('under');
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], join(root, 'a'));
    mkdirSync(join(root, 'a', 'b'));
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], join(root, 'a', 'b'));
    writeFileSync(join(root, 'a', 'b', 'held'), 'x');
    // a process with its cwd inside keeps the mount busy: only a lazy unmount gets it off
    const holder = execFileSync('sh', ['-c', `cd ${join(root, 'a', 'b')} && (sleep 60 >/dev/null 2>&1 & echo $!)`]).toString().trim();
    try {
      expect(await unmountUnder(root)).toEqual([join(root, 'a', 'b'), join(root, 'a')]);
      expect(await mountsUnder(root)).toEqual([]);
    } finally {
      process.kill(Number(holder), 'SIGKILL');
    }
    expect(await unmountUnder(root)).toEqual([]);
  });
});

describe('by system call (MountSyscalls): overlays and unmounts without mount(8)/umount(8)', () => {
  // mount(8) and umount(8) that do not exist: anything that fell back to them would fail.
  let syscalls: MountSyscalls;
  let tools: MountTools;
  beforeAll(() => {
    const made = MountSyscalls.forThisMachine();
    if (!made) throw new Error(`no mount system call numbers for ${process.arch}`);
    syscalls = made;
    tools = { syscalls, mountPath: '/nonexistent/mount', umountPath: '/nonexistent/umount' };
  });
  afterAll(() => syscalls?.close());

  it('overlay up and down, stacked, and from a common directory when longer than a page', async () => {
    const l1 = layer('sys/l1', { a: 'from l1' });
    const { mount, upper } = overlay('sys/ov', [l1]);
    const target = join(base, 'sys/rootfs');
    await mountAll([mount], target, tools);
    expect(readFileSync(join(target, 'a'), 'utf8')).toBe('from l1');
    writeFileSync(join(target, 'c'), 'new');
    expect(readFileSync(join(upper, 'c'), 'utf8')).toBe('new');
    expect((await mountsAt(target)).map((m) => m.fsType)).toEqual(['overlay']);
    await unmountAll(target, tools);
    expect(await isMountPoint(target)).toBe(false);

    const lowers: string[] = [];
    for (let i = 0; i < 70; i++) lowers.push(layer(`sys/many/snapshots/a-rather-long-snapshot-directory-name-${String(i).padStart(3, '0')}/fs`, { [`f${i}`]: String(i) }));
    const many = overlay('sys/many/snapshots/top', lowers).mount;
    expect(many.options.join(',').length).toBeGreaterThan(4096);
    const manyTarget = join(base, 'sys/many/rootfs');
    await mountAll([{ ...many, options: [...many.options, 'ro', 'nodev'] }], manyTarget, tools);
    expect(readFileSync(join(manyTarget, 'f69'), 'utf8')).toBe('69');
    expect(() => writeFileSync(join(manyTarget, 'g'), 'y')).toThrow(/EROFS|read-only/);
    expect((await mountsAt(manyTarget))[0]?.mountOptions).toEqual(expect.arrayContaining(['ro', 'nodev']));
    await unmountAll(manyTarget, tools);
    expect(await isMountPoint(manyTarget)).toBe(false);
  });

  it("the kernel's refusals are MountErrors with its message; nothing is left mounted", async () => {
    const target = join(base, 'sys/refused');
    const lower = layer('sys/refused-lower');
    // workdir inside upperdir: overlay refuses with EINVAL
    const upper = layer('sys/refused-upper');
    const err = await mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${layer('sys/refused-upper/work')}`] }], target, tools).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MountError);
    expect((err as MountError).message).toMatch(new RegExp(`^cannot mount overlay overlay -o .* on ${target}: Invalid argument`));
    expect(await mountsUnder(target)).toEqual([]);
    const notMounted = await unmount(target, tools).catch((e: unknown) => e);
    expect(notMounted).toBeInstanceOf(MountError);
    expect((notMounted as MountError).message).toBe(`cannot unmount ${target}: Invalid argument`);
  });

  it('a busy mount comes off lazily; a helper that died is started again', async () => {
    const root = layer('sys/busy');
    const { mount } = overlay('sys/busy-ov', [layer('sys/busy-lower', { f: 'x' })]);
    await mountAll([mount], join(root, 'a'), tools);
    const holder = execFileSync('sh', ['-c', `cd ${join(root, 'a')} && (sleep 60 >/dev/null 2>&1 & echo $!)`]).toString().trim();
    try {
      const busy = await unmount(join(root, 'a'), tools).catch((e: unknown) => e);
      expect((busy as MountError).message).toMatch(/Device or resource busy/);
      expect(await unmountUnder(root, tools)).toEqual([join(root, 'a')]);
    } finally {
      process.kill(Number(holder), 'SIGKILL');
    }
    // Kill the helper between calls: the next call starts a new one.
    const child = (syscalls as unknown as { helper?: { child: { pid: number; once: (e: string, f: () => void) => void } } }).helper?.child;
    if (!child) throw new Error('the helper should be running after the calls above');
    const gone = new Promise<void>((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGKILL');
    await gone;
    await mountAll([mount], join(root, 'a'), tools);
    expect(await isMountPoint(join(root, 'a'))).toBe(true);
    await unmountAll(join(root, 'a'), tools);
    expect(await isMountPoint(join(root, 'a'))).toBe(false);
  });

  it('a helper that dies after mounting, or hangs, is replaced; the mount is not made twice nor lost', async () => {
    const fake = (name: string, body: string) => {
      const path = join(base, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return path;
    };
    // A "perl" that runs the real helper but exits right after a mount(2), before it answers.
    const dies = fake('perl-dies', `script=$(printf '%s' "$2" | sed 's/answer($r == -1 ? "E $e $m\\\\n" : "0\\\\n");/exit 0;/')\nexec /usr/bin/perl -e "$script" "$3" "$4"`);
    const dying = MountSyscalls.forThisMachine(dies)!;
    const { mount } = overlay('sys/dies-ov', [layer('sys/dies-lower', { f: 'x' })]);
    const target = join(base, 'sys/dies');
    try {
      // mount(8) missing: had the fallback run, it would fail.
      await mountAll([mount], target, { syscalls: dying, mountPath: '/nonexistent/mount', umountPath: '/nonexistent/umount' });
      expect((await mountsAt(target)).map((m) => m.fsType)).toEqual(['overlay']);
      // It did die without answering (the call failed, the mount was found made).
      expect((dying as unknown as { helper?: unknown }).helper).toBeUndefined();
    } finally {
      dying.close();
    }
    await unmountAll(target, tools);

    // A "perl" that never answers: the call times out, the helper is killed, mount(8) mounts.
    const hangs = fake('perl-hangs', 'exec sleep 600');
    const hanging = MountSyscalls.forThisMachine(hangs, { callTimeoutMs: 200 })!;
    try {
      await mountAll([mount], target, { syscalls: hanging });
      expect((await mountsAt(target)).map((m) => m.fsType)).toEqual(['overlay']);
      await unmountAll(target, { syscalls: hanging });
      expect(await isMountPoint(target)).toBe(false);
    } finally {
      hanging.close();
    }
  });

  it("options: mount(8)'s generic ones become flags, the rest the file system's data", () => {
    expect(syscallArgs(['lowerdir=/a:/b', 'upperdir=/u', 'workdir=/w', 'index=off'])).toEqual({ flags: 0, data: 'lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off' });
    expect(syscallArgs(['ro', 'nosuid', 'nodev', 'noexec', 'userxattr'])).toEqual({ flags: 0x1 | 0x2 | 0x4 | 0x8, data: 'userxattr' });
    expect(syscallArgs(['ro', 'rw', 'defaults', 'relatime'])).toEqual({ flags: 1 << 21, data: '' });
    expect(syscallArgs(['relatime', 'norelatime', 'nosymfollow'])).toEqual({ flags: 0x100, data: '' });
    // What mount(8) handles itself never reaches the kernel: such a mount is left to mount(8).
    for (const o of ['x-systemd.automount', 'nofail', '_netdev', 'noauto', 'user']) expect(syscallArgs(['lowerdir=/a', o])).toBeUndefined();
  });
});

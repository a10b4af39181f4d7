// A busybox root file system built from Debian's busybox-static, for tests
// that run real containers.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

/** Fails loudly, naming the binary, when a prerequisite is missing. */
export function requireBinary(path: string, debianPackage: string): void {
  try {
    accessSync(path);
  } catch {
    throw new Error(`${path} is missing: install the Debian package ${debianPackage}`);
  }
}

export function requirePrerequisites(): void {
  requireBinary(BUSYBOX, 'busybox-static');
  requireBinary('/usr/sbin/runc', 'runc');
  requireBinary('/usr/bin/conmon', 'conmon');
  requireBinary('/usr/bin/perl', 'perl-base');
}

/**
 * Writes a busybox rootfs into `dir`: /bin/busybox plus a symlink per applet,
 * /etc/passwd and /etc/group with root, nobody and alice (1000, in staff),
 * and a file that is not executable (/not-executable).
 */
export function makeBusyboxRootfs(dir: string): void {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/alice']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'busybox') continue;
    try {
      symlinkSync('busybox', join(dir, 'bin', applet));
    } catch {
      // duplicate applet name
    }
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nstaff:x:50:alice\nalice:x:1000:\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\necho no\n');
  chmodSync(join(dir, 'not-executable'), 0o644);
}

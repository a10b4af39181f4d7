import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';

/**
 * Node has no API for extended attributes or mknod. Rather than depend on
 * extra binaries (setfattr is not installed; mknod forks once per node), one
 * long-lived Perl process per apply/diff makes the raw syscalls (lsetxattr,
 * lgetxattr, llistxattr, lremovexattr, mknodat) — perl-base is Essential on Debian, so it is
 * always there. Requests are pipelined over a pipe: many in flight, answers
 * in order. Only l*-variants and mknodat are used: the final path component
 * is never followed; callers guarantee the parents are verified directories.
 */

// Syscall numbers per architecture (asm/unistd.h). generic = arm64, riscv64, loongarch64.
const GENERIC = { lsetxattr: 6, lgetxattr: 9, llistxattr: 12, lremovexattr: 15, mknodat: 33 };
const SYSCALLS: Partial<Record<NodeJS.Architecture, typeof GENERIC>> = {
  x64: { lsetxattr: 189, lgetxattr: 192, llistxattr: 195, lremovexattr: 198, mknodat: 259 },
  arm64: GENERIC,
  riscv64: GENERIC,
  loong64: GENERIC,
};

const SCRIPT = String.raw`
use strict; use warnings;
my ($SETX, $GETX, $LISTX, $RMX, $MKNODAT) = map { 0 + $_ } @ARGV;
umask 0; $| = 1; binmode STDIN; binmode STDOUT;
sub getx { my ($p, $n) = @_;
  for (1..8) { my $sz = syscall($GETX, $p, $n, 0, 0); return undef if $sz < 0;
    my $buf = "\0" x ($sz || 1); my $r = syscall($GETX, $p, $n, $buf, length($buf));
    if ($r >= 0) { return substr($buf, 0, $r); } return undef unless $!{ERANGE}; }
  return undef; }
while (my $line = <STDIN>) { chomp $line;
  my ($op, @a) = split /\t/, $line, -1; @a = map { pack('H*', $_) } @a; my @out;
  my $ok = 1;
  if ($op eq 'setx') { $ok = syscall($SETX, $a[0], $a[1], $a[2], 0 + length($a[2]), 0) >= 0; }
  elsif ($op eq 'getx') { my $v = getx($a[0], $a[1]);
    if (defined $v) { @out = ($v); } elsif ($!{ENODATA}) { $ok = 1; @out = (); } else { $ok = 0; } }
  elsif ($op eq 'listx') { my $sz = syscall($LISTX, $a[0], 0, 0);
    if ($sz < 0) { $ok = 0; } elsif ($sz > 0) { my $buf = "\0" x $sz; my $r = syscall($LISTX, $a[0], $buf, $sz);
      if ($r < 0) { $ok = 0; } else { for my $n (grep { length } split /\0/, substr($buf, 0, $r)) {
        my $v = getx($a[0], $n); if (defined $v) { push @out, $n, $v; } elsif (!$!{ENODATA}) { $ok = 0; last; } } } } }
  elsif ($op eq 'rmx') { $ok = syscall($RMX, $a[0], $a[1]) >= 0; }
  elsif ($op eq 'mknod') { $ok = syscall($MKNODAT, -100, $a[0], 0 + $a[1], 0 + $a[2]) >= 0; }
  else { $! = 22; $ok = 0; }
  if ($ok) { print join("\t", 'ok', map { unpack('H*', $_) } @out), "\n"; }
  else { print "err\t", 0 + $!, "\n"; } }
`;

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export class FsOpError extends Error {
  override readonly name = 'FsOpError';
  constructor(
    message: string,
    readonly errno: number,
    readonly code: string,
  ) {
    super(message);
  }
}

interface Pending {
  describe: string;
  resolve: (fields: Buffer[]) => void;
  reject: (err: Error) => void;
}

const hex = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v) : v).toString('hex');

/** Linux encoding of a device number for the mknodat syscall (new_encode_dev). */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

export class FsHelper {
  private child: ChildProcessWithoutNullStreams | undefined;
  private queue: Pending[] = [];
  private failure: Error | undefined;
  private stderr = '';

  private start(): ChildProcessWithoutNullStreams {
    if (this.failure) throw this.failure;
    if (this.child) return this.child;
    const nr = SYSCALLS[process.arch];
    if (!nr) throw new Error(`xattr/mknod helper: unsupported architecture ${process.arch}`);
    const child = spawn('perl', ['-e', SCRIPT, String(nr.lsetxattr), String(nr.lgetxattr), String(nr.llistxattr), String(nr.lremovexattr), String(nr.mknodat)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'perl is not installed (Debian: perl-base)' : err.message;
      this.fail(new Error(`xattr/mknod helper could not start: ${why}`));
    });
    child.on('exit', (code, signal) => {
      if (this.queue.length > 0 || code !== 0) {
        this.fail(new Error(`xattr/mknod helper exited (code ${code}, signal ${signal}): ${this.stderr.trim()}`));
      }
      this.child = undefined;
    });
    child.stdin.on('error', () => {
      // reported through 'exit'
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.answer(line));
    this.child = child;
    return child;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  private answer(line: string): void {
    const p = this.queue.shift();
    if (!p) return;
    const [status, ...fields] = line.split('\t');
    if (status === 'ok') {
      p.resolve(fields.map((f) => Buffer.from(f, 'hex')));
      return;
    }
    const errno = Number(fields[0]);
    const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
    p.reject(new FsOpError(`${p.describe} failed: ${code}`, errno, code));
  }

  private call(describe: string, op: string, args: (string | Buffer)[]): Promise<Buffer[]> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ describe, resolve, reject });
      child.stdin.write(`${[op, ...args.map(hex)].join('\t')}\n`);
    });
  }

  async setXattr(path: string, name: string, value: Buffer): Promise<void> {
    await this.call(`lsetxattr(${path}, ${name})`, 'setx', [path, name, value]);
  }

  async removeXattr(path: string, name: string): Promise<void> {
    await this.call(`lremovexattr(${path}, ${name})`, 'rmx', [path, name]);
  }

  /** The attribute's value, or undefined when the file does not have it. */
  async getXattr(path: string, name: string): Promise<Buffer | undefined> {
    const out = await this.call(`lgetxattr(${path}, ${name})`, 'getx', [path, name]);
    return out[0];
  }

  async listXattrs(path: string): Promise<Map<string, Buffer>> {
    const out = await this.call(`llistxattr(${path})`, 'listx', [path]);
    const map = new Map<string, Buffer>();
    for (let i = 0; i + 1 < out.length; i += 2) map.set(out[i]!.toString(), out[i + 1]!);
    return map;
  }

  /** mknodat(AT_FDCWD, path, mode, dev); mode includes the file type bits (S_IFCHR, …). */
  async mknod(path: string, mode: number, major = 0, minor = 0): Promise<void> {
    await this.call(`mknod(${path})`, 'mknod', [path, String(mode), String(encodeDev(major, minor))]);
  }

  /** Ends the helper; waits for it to exit. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin.end();
    await exited;
  }
}

// mount(2) and umount2(2) without a fork per call. Node has no binding for
// either, and running util-linux's mount or umount costs a fork of the
// caller, an exec and libmount's start-up: ≈ 5 ms each, twice on every
// `run --rm` (the rootfs overlay up, then down). This keeps one Perl process
// (perl-base is Essential on Debian) that makes the two system calls with
// Perl's `syscall` and answers on a pipe, in order.
//
// Protocol, one line per request, fields hex-encoded (paths may hold spaces):
//   m <source> <target> <fstype> <flags, decimal> <data> <cwd>   mount(2), run in cwd
//   u <target> <flags, decimal>                                  umount2(2)
// Answer: "0" or "E <errno> <message>". The cwd matters for overlays whose
// layer paths were made relative to fit one page of mount data.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { holdEventLoop } from '@berth/process';

const SCRIPT = String.raw`
my ($SYS_MOUNT, $SYS_UMOUNT2) = @ARGV;
binmode(STDIN); binmode(STDOUT);
sub answer { my $s = shift; my $o = 0; while ($o < length($s)) { my $w = syswrite(STDOUT, $s, length($s) - $o, $o); exit 0 unless defined $w; $o += $w; } }
while (my $line = <STDIN>) {
  chomp $line;
  my ($op, @f) = split(/ /, $line, -1);
  @f = map { pack('H*', $_) } @f;
  my $r;
  if ($op eq 'm' && @f == 6) {
    my ($src, $tgt, $type, $flags, $data, $cwd) = @f;
    if (!chdir($cwd eq '' ? '/' : $cwd)) { answer('E ' . ($! + 0) . " chdir $cwd: $!\n"); next; }
    $r = syscall($SYS_MOUNT, $src, $tgt, $type, $flags + 0, $data);
    my $e = $! + 0; my $m = "$!";
    chdir('/');
    answer($r == -1 ? "E $e $m\n" : "0\n");
  } elsif ($op eq 'u' && @f == 2) {
    my ($tgt, $flags) = @f;
    $r = syscall($SYS_UMOUNT2, $tgt, $flags + 0);
    answer($r == -1 ? 'E ' . ($! + 0) . " $!\n" : "0\n");
  } else {
    answer("E 22 bad request\n");
  }
}
`;

/** System call numbers by Node's process.arch; elsewhere there is no helper. */
const SYSCALLS: Record<string, readonly [mount: number, umount2: number]> = {
  x64: [165, 166],
  arm64: [40, 39],
};

export const MNT_DETACH = 2;

/** A failed system call: errno as a number and the C library's message. */
export class SyscallError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'SyscallError';
  }
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The helper process: started on first use, started again after it dies
 * (the calls in flight then fail). Does not keep the event loop alive.
 */
export class MountSyscalls {
  private child: ChildProcess | undefined;
  private pending: Pending[] = [];
  private closed = false;

  private constructor(
    private readonly perlPath: string,
    private readonly numbers: readonly [number, number],
  ) {}

  /** A helper for this machine, or undefined where the system call numbers are not known here. */
  static forThisMachine(perlPath = '/usr/bin/perl'): MountSyscalls | undefined {
    const numbers = SYSCALLS[process.arch];
    return numbers ? new MountSyscalls(perlPath, numbers) : undefined;
  }

  mount(source: string, target: string, fstype: string, flags: number, data: string, cwd = ''): Promise<void> {
    return this.request(`m ${hex(source)} ${hex(target)} ${hex(fstype)} ${hex(String(flags))} ${hex(data)} ${hex(cwd)}`);
  }

  umount(target: string, flags = 0): Promise<void> {
    return this.request(`u ${hex(target)} ${hex(String(flags))}`);
  }

  /** Ends the helper; later calls fail. */
  close(): void {
    this.closed = true;
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  private request(line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the mount helper is closed'));
    const child = this.child ?? this.start();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      holdEventLoop(child, true);
      child.stdin!.write(`${line}\n`);
    });
  }

  private start(): ChildProcess {
    const child = spawn(this.perlPath, ['-e', SCRIPT, ...this.numbers.map(String)], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = child;
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      const pending = this.pending;
      this.pending = [];
      for (const p of pending) p.reject(new Error(`the mount helper (${this.perlPath}) ${why}`));
    };
    child.on('error', (err) => fail(`could not run: ${err.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    createInterface({ input: child.stdout! }).on('line', (answer) => {
      const p = this.pending.shift();
      if (this.pending.length === 0) holdEventLoop(child, false);
      if (!p) return;
      if (answer === '0') return p.resolve();
      const m = /^E (\d+) ?(.*)$/.exec(answer);
      p.reject(m ? new SyscallError(Number(m[1]), m[2] || `errno ${m[1]}`) : new Error(`the mount helper answered ${JSON.stringify(answer)}`));
    });
    // A helper that could not start: its stdin reports EPIPE, the calls fail through 'error'/'exit'.
    child.stdin!.on('error', () => undefined);
    holdEventLoop(child, false);
    return child;
  }
}


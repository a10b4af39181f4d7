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

/** One helper process and the calls it has yet to answer, in order. */
interface Helper {
  child: ChildProcess;
  pending: Pending[];
}

/** How long one call may take before its helper is taken for hung and killed. */
const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * The helper process: started on first use, started again after it dies.
 * A call it had not answered then fails with a plain Error (not a
 * SyscallError): it may or may not have been made, which the caller checks.
 * Does not keep the event loop alive while idle.
 */
export class MountSyscalls {
  private helper: Helper | undefined;
  private closed = false;

  private constructor(
    private readonly perlPath: string,
    private readonly numbers: readonly [number, number],
    private readonly callTimeoutMs: number,
  ) {}

  /** A helper for this machine, or undefined where the system call numbers are not known here. */
  static forThisMachine(perlPath = '/usr/bin/perl', opts: { callTimeoutMs?: number } = {}): MountSyscalls | undefined {
    const numbers = SYSCALLS[process.arch];
    return numbers ? new MountSyscalls(perlPath, numbers, opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) : undefined;
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
    this.helper?.child.kill('SIGKILL');
    this.helper = undefined;
  }

  private request(line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the mount helper is closed'));
    const helper = this.helper ?? this.start();
    return new Promise<void>((resolve, reject) => {
      // A call that hangs (a layer on a dead network file system) would hold every later one.
      const timer = setTimeout(() => {
        if (this.helper === helper) this.helper = undefined;
        helper.child.kill('SIGKILL');
      }, this.callTimeoutMs);
      helper.pending.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      holdEventLoop(helper.child, true);
      helper.child.stdin!.write(`${line}\n`);
    });
  }

  private start(): Helper {
    const child = spawn(this.perlPath, ['-e', SCRIPT, ...this.numbers.map(String)], { stdio: ['pipe', 'pipe', 'ignore'] });
    const helper: Helper = { child, pending: [] };
    this.helper = helper;
    const fail = (why: string) => {
      if (this.helper === helper) this.helper = undefined;
      for (const p of helper.pending.splice(0)) p.reject(new Error(`the mount helper (${this.perlPath}) ${why}`));
    };
    child.on('error', (err) => fail(`could not run: ${err.message}`));
    // 'close', not 'exit': by then its stdout is drained, so every answer it gave has been read.
    child.on('close', (code, signal) => fail(`ended (${signal ?? `code ${code}`}) before it answered`));
    createInterface({ input: child.stdout! }).on('line', (answer) => {
      const p = helper.pending.shift();
      if (helper.pending.length === 0) holdEventLoop(child, false);
      if (!p) return;
      if (answer === '0') return p.resolve();
      const m = /^E (\d+) ?(.*)$/.exec(answer);
      p.reject(m ? new SyscallError(Number(m[1]), m[2] || `errno ${m[1]}`) : new Error(`the mount helper answered ${JSON.stringify(answer)}`));
    });
    // A helper that could not start: its stdin reports EPIPE, the calls fail through 'error'/'close'.
    child.stdin!.on('error', () => undefined);
    holdEventLoop(child, false);
    return helper;
  }
}

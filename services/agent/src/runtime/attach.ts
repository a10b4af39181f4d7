// Attaching to a container's (or exec session's) stdio through conmon.
//
// conmon serves attach on a SOCK_SEQPACKET unix socket (<bundle>/attach):
// each packet it sends is one pipe byte (2 stdout, 3 stderr) followed by up to
// 8 KiB of output; each packet it receives is written to the process' stdin,
// and the client half-closing makes conmon close that stdin (unless
// --leave-stdin-open). Node cannot open SOCK_SEQPACKET sockets (net only does
// SOCK_STREAM and no FFI exists without a native addon), so a tiny bridge
// does it: a Perl script run by /usr/bin/perl, which Debian guarantees
// (perl-base is Essential). socat would work
// too but is not installed; log files cannot carry stdin, and `-it` needs it.
//
// The helper reads its target from its stdin first, one line "<0|1> <dir>"
// (1: forward stdin), so a BridgePool can start it before anyone attaches.
// Then, on its stdout: frames of [type u8][length u32 BE][bytes], type 0 =
// connected, 2 = stdout, 3 = stderr. With stdin forwarded, the rest of its
// stdin goes to the socket in packets of at most 8 KiB; EOF half-closes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { holdEventLoop } from '@berth/process';

// No modules (strict, Socket, IO::Select each cost start-up time on every
// attach): Linux's numbers instead — AF_UNIX 1, SOCK_SEQPACKET 5, SHUT_WR 1,
// EINTR 4 — and select() on a bit vector.
const BRIDGE = String.raw`
$SIG{PIPE} = 'IGNORE';
my $line = '';
while (1) { my $c = ''; my $r = sysread(STDIN, $c, 1); next if !defined($r) && $! == 4; exit 0 unless $r; last if $c eq "\n"; $line .= $c; }
my ($in, $dir) = ($line =~ /^([01]) (.*)$/s) or do { print STDERR "bad target line\n"; exit 2 };
chdir($dir) or do { print STDERR "cannot enter $dir: $!\n"; exit 2 };
socket(my $s, 1, 5, 0) or do { print STDERR "socket: $!\n"; exit 2 };
connect($s, pack('S Z108', 1, 'attach')) or do { print STDERR "cannot connect to $dir/attach: $!\n"; exit 3 };
binmode(STDOUT); binmode(STDIN);
sub out { my ($t, $d) = @_; my $f = pack('CN', $t, length($d)) . $d; my $o = 0;
  while ($o < length($f)) { my $w = syswrite(STDOUT, $f, length($f) - $o, $o); exit 0 unless defined $w; $o += $w; } }
out(0, '');
my $sfd = fileno($s);
while (1) {
  my $rin = ''; vec($rin, $sfd, 1) = 1; vec($rin, 0, 1) = 1 if $in;
  my $n = select(my $rout = $rin, undef, undef, undef);
  if ($n < 0) { next if $! == 4; exit 0; }
  if (vec($rout, $sfd, 1)) {
    my $buf = ''; my $r = sysread($s, $buf, 65536);
    if (!defined($r)) { next if $! == 4; exit 0; }
    exit 0 if $r == 0;
    out(ord(substr($buf, 0, 1)), substr($buf, 1));
  }
  if ($in && vec($rout, 0, 1)) {
    my $buf = ''; my $r = sysread(STDIN, $buf, 8192);
    next if !defined($r) && $! == 4;
    if (!$r) { shutdown($s, 1); $in = 0; next; }
    defined(send($s, $buf, 0)) or exit 0;
  }
}
`;

export interface AttachOptions {
  /** Forward stdin (the container must have been created with stdin open). */
  stdin?: boolean;
  /** Where the bridge comes from; default: a new one run by /usr/bin/perl. */
  bridges?: BridgePool;
  /** A bridge reserved earlier (BridgePool.reserve); used instead of one from `bridges`. */
  reserved?: BridgeReservation;
}

/** A started bridge set aside for an attach still to come; release() hands an unused one back. */
export interface BridgeReservation {
  /** The bridge, once: later calls (and release) find it taken. */
  use(): ChildProcess | undefined;
  release(): void;
}

const DEFAULT_PERL = '/usr/bin/perl';

function spawnBridge(perlPath: string): ChildProcess {
  return spawn(perlPath, ['-e', BRIDGE], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** True while a bridge has not exited (nor failed to start). */
const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null && child.pid !== undefined;

/**
 * Keeps one bridge started ahead of need: an attach (on every foreground
 * `run`) then waits for neither a fork of the agent nor Perl's start-up. The
 * spare is replaced a little after it is taken, off the attach's path; it
 * holds nothing but its pipes, and ends when the agent does (its stdin closes).
 */
export class BridgePool {
  private spare: ChildProcess | undefined;
  private refill: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly perlPath = DEFAULT_PERL,
    // Short: `run --rm` after `run --rm` takes the next spare ≈ 150 ms later,
    // and one not ready by then costs that attach a fork and Perl's start-up
    // (≈ 3 ms). Not 0: the fork would hold up the attach that just took one.
    private readonly refillDelayMs = 20,
  ) {}

  /**
   * A bridge for an attach that will connect later (a run's, once its
   * create is done), taken now; its replacement is started now too, while
   * the create is still on its way, rather than a little after the attach,
   * when a short-lived container's exit and delete keep the agent busy.
   */
  reserve(): BridgeReservation {
    const spare = this.spare;
    this.spare = undefined;
    const child = spare && alive(spare) ? spare : spawnBridge(this.perlPath);
    if (child !== spare) {
      child.on('error', () => undefined); // no perl: reported where it is used
      holdEventLoop(child, false);
    }
    if (this.refill) clearTimeout(this.refill);
    this.refill = undefined;
    this.refillNow();
    let held: ChildProcess | undefined = child;
    return {
      use: () => {
        const c = held;
        held = undefined;
        if (!c || !alive(c)) return undefined; // (the caller takes another)
        holdEventLoop(c, true);
        return c;
      },
      release: () => {
        const c = held;
        held = undefined;
        if (!c) return;
        // Unused: the spare again if none came meanwhile (it has had no target line yet).
        if (!this.closed && !this.spare && alive(c)) {
          holdEventLoop(c, false);
          this.spare = c;
        } else c.kill('SIGKILL');
      },
    };
  }

  /** A started bridge waiting for its target line. */
  take(): ChildProcess {
    const spare = this.spare;
    this.spare = undefined;
    this.scheduleRefill();
    if (spare && alive(spare)) {
      holdEventLoop(spare, true);
      return spare;
    }
    return spawnBridge(this.perlPath);
  }

  private scheduleRefill(): void {
    if (this.closed || this.refill) return;
    this.refill = setTimeout(() => {
      this.refill = undefined;
      this.refillNow();
    }, this.refillDelayMs);
    this.refill.unref();
  }

  private refillNow(): void {
    if (this.closed || this.spare) return;
    const child = spawnBridge(this.perlPath);
    child.on('error', () => undefined); // no perl: take() spawns afresh and reports it
    holdEventLoop(child, false);
    this.spare = child;
  }

  /** Ends the spare; later takes spawn bridges one by one. */
  close(): void {
    this.closed = true;
    if (this.refill) clearTimeout(this.refill);
    this.refill = undefined;
    this.spare?.kill('SIGKILL');
    this.spare = undefined;
  }
}

export interface AttachSession {
  /** Writes go to the process' stdin; end() closes it (for stdinOnce containers). Null without stdin. */
  stdin: Writable | null;
  stdout: Readable;
  /** Empty for a tty: a terminal has one stream. */
  stderr: Readable;
  /** Disconnects without touching the process. */
  detach(): void;
  /** Settles when the connection ends: the process exited, or detach() was called. */
  closed: Promise<void>;
}

/** Connects to `<dir>/attach`; resolves once conmon accepted the connection. */
export function attachSocket(dir: string, opts: AttachOptions = {}): Promise<AttachSession> {
  const perlPath = opts.bridges?.perlPath ?? DEFAULT_PERL;
  const child = opts.reserved?.use() ?? (opts.bridges ? opts.bridges.take() : spawnBridge(perlPath));
  child.stdin?.on('error', () => undefined); // a bridge that failed to start; 'close' reports it
  child.stdin?.write(`${opts.stdin ? '1' : '0'} ${dir}\n`);
  if (!opts.stdin) child.stdin?.end();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let helperErr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    helperErr += s;
  });

  return new Promise<AttachSession>((resolve, reject) => {
    let connected = false;
    let pending: Buffer = Buffer.alloc(0);
    const closed = new Promise<void>((res) => child.on('close', () => res()));

    child.stdout?.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 5) {
        const len = pending.readUInt32BE(1);
        if (pending.length < 5 + len) break;
        const type = pending[0];
        const data = pending.subarray(5, 5 + len);
        pending = pending.subarray(5 + len);
        if (type === 0 && !connected) {
          connected = true;
          resolve(session(child, stdout, stderr, closed, opts.stdin === true));
        } else if (type === 3) stderr.write(data);
        else stdout.write(data);
      }
    });
    child.on('error', (err) => {
      if (!connected) reject(new Error(`cannot start the attach helper (${perlPath}): ${err.message}`));
    });
    child.on('close', (code) => {
      stdout.end();
      stderr.end();
      if (!connected) {
        reject(new Error(`cannot attach to ${dir}: ${helperErr.trim() || `helper exited with code ${code}`}`));
      }
    });
  });
}

function session(
  child: ChildProcess,
  stdout: PassThrough,
  stderr: PassThrough,
  closed: Promise<void>,
  withStdin: boolean,
): AttachSession {
  let stdin: Writable | null = null;
  if (withStdin && child.stdin) {
    const pipe = child.stdin;
    pipe.on('error', () => undefined); // the helper is gone: the session is over anyway
    stdin = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (pipe.destroyed) return cb();
        pipe.write(chunk, () => cb());
      },
      final(cb) {
        pipe.end(cb);
      },
    });
  }
  return {
    stdin,
    stdout,
    stderr,
    detach: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    closed,
  };
}

#!/usr/bin/perl
# `berth`: hands the command line to the stack's CLI host (src/host/) over
# <runtime dir>/cli.sock and relays what it answers: stdout, stderr, the exit
# code. Node needs ≈ 40 ms to start and load the CLI before its first call;
# this starts in ≈ 2 ms, and the host has the CLI loaded and warm. Without a
# host (the stack is down, BERTH_CLI_HOST=0, --runtime-dir given, a host that
# does not accept within ACCEPT_WAIT) or for a command the host hands back
# (stdin, a terminal, `system ...`, another user), it runs the CLI itself:
# berth.js beside it. The frames are src/host/protocol.ts's.
# Perl because it is on every Debian and starts at once; core builtins only
# (loading modules such as Socket would cost more than the rest together).
# No `use warnings` (1.2 ms of every start; the build checks with -w) and no
# %! (it loads Errno): errno values are Linux's.
use strict;

my ($EPIPE, $EAGAIN, $EINTR) = (32, 11, 4);
my %FORWARDED = (HUP => 1, INT => 2, QUIT => 3, USR1 => 10, USR2 => 12, TERM => 15);    # Docker's sig-proxy, as the CLI's own
my $ACCEPT_WAIT = 2;    # seconds the host has to accept the command before berth runs it itself
my $ACK_WAIT = 2;       # seconds the host has to say it got a signal before berth gives up on it
my $TIOCGWINSZ = 0x5413;    # asm-generic: x86-64 and arm64
my $MAX_REQUEST = 1024 * 1024;    # the host's limit
my $BUILD = '';    # stamped by the build (scripts/bundle.mjs), as bundle/build-id, which the host reads

sub here {
  my $path = $0;
  for (my $i = 0; $i < 40 && -l $path; $i++) {
    my $target = readlink $path;
    $path = $target =~ m{^/} ? $target : ($path =~ m{^(.*/)} ? $1 : './') . $target;
  }
  return $path =~ m{^(.*)/} ? $1 : '.';
}

sub run_locally {
  my $cli = here() . '/berth.js';
  $SIG{$_} = 'DEFAULT' for 'PIPE', keys %FORWARDED;
  { exec {$cli} $cli, @ARGV }
  print STDERR "berth: cannot run $cli: $!\n";
  exit 125;
}

sub valid_utf8 { my $copy = shift; return utf8::decode($copy) }

sub json_string {
  my $s = shift;
  $s =~ s/(["\\])/\\$1/g;
  $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord $1)/ge;
  return qq("$s");
}

sub frame { my ($type, $payload) = @_; return $type . pack('N', length $payload) . $payload }

# Writes all of $data; on a non-blocking descriptor (left so by a parent) waits until it takes more.
sub write_all {
  my ($fh, $data) = @_;
  while (length $data) {
    my $n = syswrite $fh, $data;
    if (!defined $n) {
      next if $! == $EINTR;
      if ($! == $EAGAIN) {
        my $writable = '';
        vec($writable, fileno($fh), 1) = 1;
        select(undef, $writable, undef, 1);
        next;
      }
      return 0;
    }
    substr($data, 0, $n) = '';
  }
  return 1;
}

# Waits up to $timeout seconds (undef: for ever) for $fh to be readable; false on timeout.
sub readable {
  my ($fh, $timeout) = @_;
  my $bits = '';
  vec($bits, fileno($fh), 1) = 1;
  return select($bits, undef, undef, $timeout) > 0;
}

run_locally() if ($ENV{BERTH_CLI_HOST} // '1') eq '0' || grep { /^--runtime-dir(=|$)/ } @ARGV;
my $cwd = readlink '/proc/self/cwd';
my $mount_namespace = readlink '/proc/self/ns/mnt';
# the request is JSON, text: a byte string that is not UTF-8 would not survive it
run_locally() if !defined $cwd || !defined $mount_namespace || grep { !valid_utf8($_) } @ARGV, %ENV, $cwd;

$SIG{PIPE} = 'IGNORE';    # a host that went away is an error to handle, not a death
my $socket_path = ($ENV{BERTH_RUNTIME_DIR} || '/run/berth') . '/cli.sock';
socket(my $host, 1, 1, 0) or run_locally();    # AF_UNIX, SOCK_STREAM
connect($host, pack('S', 1) . $socket_path . "\0") or run_locally();

my @tty = map { -t $_ ? 'true' : 'false' } (\*STDIN, \*STDOUT, \*STDERR);
my $size = '';
for my $fh (\*STDOUT, \*STDERR) {
  next unless -t $fh;
  my $ws = "\0" x 8;
  next unless ioctl($fh, $TIOCGWINSZ, $ws);
  my ($rows, $columns) = unpack 'S2', $ws;
  $size = qq(,"columns":$columns,"rows":$rows);
  last;
}
my $request = '{"argv":[' . join(',', map { json_string($_) } @ARGV) . '],"env":{'
  . join(',', map { json_string($_) . ':' . json_string($ENV{$_}) } sort keys %ENV) . '},"cwd":'
  . json_string($cwd) . ',"tty":[' . join(',', @tty) . "]$size"
  . ',"uid":' . $< . ',"umask":' . umask() . ',"mountNamespace":' . json_string($mount_namespace)
  . ',"build":' . json_string($BUILD) . '}';
run_locally() if length($request) > $MAX_REQUEST;
write_all($host, frame('R', $request)) or run_locally();

my $buffer = '';
# One frame, or undef when the host closed the connection; 'timeout' when nothing came for
# $timeout seconds (undef: waits for ever), or a signal came meanwhile.
sub next_frame {
  my ($timeout) = @_;
  while (1) {
    if (length($buffer) >= 5) {
      my ($type, $length) = unpack 'a N', $buffer;
      if (length($buffer) >= 5 + $length) {
        my $payload = substr $buffer, 5, $length;
        substr($buffer, 0, 5 + $length) = '';
        return ($type, $payload);
      }
    }
    return ('timeout') if defined $timeout && !readable($host, $timeout);
    my $n = sysread $host, $buffer, 65536, length $buffer;
    if (!defined $n) {
      next if $! == $EINTR || $! == $EAGAIN;
      return;
    }
    return if $n == 0;
  }
}

# The host accepts (then runs the command only on our go) or hands it back; one that does not
# answer in time never gets the go, so the command runs once, here.
my ($answer) = next_frame($ACCEPT_WAIT);
if (!defined $answer || $answer ne 'A') {
  close $host;
  run_locally();
}

my (@caught, @unacknowledged, $answered);
$SIG{$_} = do { my $name = $_; sub { push @caught, $name } } for keys %FORWARDED;
write_all($host, frame('G', '')) or run_locally();

while (1) {
  while (@caught) {
    my $name = shift @caught;
    write_all($host, frame('S', $name));
    push @unacknowledged, [$name, time];
  }
  # a host that does not even take a signal in (hung) must not keep berth from dying of it
  if (@unacknowledged && time - $unacknowledged[0][1] > $ACK_WAIT) {
    print STDERR "berth: the CLI host at $socket_path does not answer\n";
    exit 128 + $FORWARDED{ $unacknowledged[0][0] };
  }
  # a bounded wait: a signal that comes just before it is forwarded within half a second
  my ($type, $payload) = next_frame(0.5);
  last if !defined $type;
  next if $type eq 'timeout';
  if ($type eq 'L' && !$answered) {
    # handed back once parsed (it needs our stdin, ...): nothing ran; it runs here
    close $host;
    run_locally();
  }
  $answered = 1 if $type eq 'O' || $type eq 'E';
  if ($type eq 'O') {
    next if write_all(\*STDOUT, $payload);
    # a reader that went away (`berth ps | head -1`) ends berth quietly, as it does any Unix tool
    exit 0 if $! == $EPIPE;
    print STDERR "berth: cannot write to stdout: $!\n";
    exit 125;
  } elsif ($type eq 'E') {
    write_all(\*STDERR, $payload);
  } elsif ($type eq 'K') {
    shift @unacknowledged;
  } elsif ($type eq 'X') {
    my ($code, $signal) = split / /, $payload;
    if (defined $signal && exists $FORWARDED{$signal}) {
      # the command ended of a signal it did not handle: so does berth, as a berth process would
      $SIG{$signal} = 'DEFAULT';
      kill $signal, $$;
    }
    exit($code + 0);
  } else {
    print STDERR "berth: unexpected answer from the CLI host at $socket_path\n";
    exit 125;
  }
}
print STDERR "berth: the CLI host at $socket_path closed the connection before the command ended\n";
exit 125;

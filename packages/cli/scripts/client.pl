#!/usr/bin/perl
# `berth`: hands the command line to the stack's CLI host (src/host/) over
# <runtime dir>/cli.sock and relays what it answers: stdout, stderr, the exit
# code. Node needs ≈ 40 ms to start and load the CLI before its first call;
# this starts in ≈ 2 ms, and the host has the CLI loaded and warm. Without a
# host (the stack is down, BERTH_CLI_HOST=0, --runtime-dir given) or for a
# command the host hands back (stdin, a terminal, `system ...`), it runs the
# CLI itself: berth.js beside it.
# Perl because it is on every Debian and starts at once; core builtins only
# (loading modules such as Socket would cost more than the rest together).
# No `use warnings` (1.2 ms of every start; the build checks with -w) and no
# %! (it loads Errno): EINTR is 4 on Linux.
use strict;

my $EINTR = 4;

my %FORWARDED = (HUP => 1, INT => 2, QUIT => 3, USR1 => 10, USR2 => 12, TERM => 15);    # Docker's sig-proxy, as the CLI's own
my $ACK_WAIT = 2;    # seconds the host has to say it got a signal before berth gives up on it
my $TIOCGWINSZ = 0x5413;                            # asm-generic: x86-64 and arm64

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

sub write_all {
  my ($fh, $data) = @_;
  while (length $data) {
    my $n = syswrite $fh, $data;
    if (!defined $n) {
      next if $! == $EINTR;
      return 0;
    }
    substr($data, 0, $n) = '';
  }
  return 1;
}

run_locally() if ($ENV{BERTH_CLI_HOST} // '1') eq '0' || grep { /^--runtime-dir(=|$)/ } @ARGV;
my $cwd = readlink '/proc/self/cwd';
# the request is JSON, text: a byte string that is not UTF-8 would not survive it
run_locally() if !defined $cwd || grep { !valid_utf8($_) } @ARGV, %ENV, $cwd;

my $socket_path = ($ENV{BERTH_RUNTIME_DIR} || '/run/berth') . '/cli.sock';
socket(my $host, 1, 1, 0) or run_locally();    # AF_UNIX, SOCK_STREAM
connect($host, pack('S', 1) . $socket_path . "\0") or run_locally();

my @tty = map { -t $_ ? 'true' : 'false' } (\*STDIN, \*STDOUT, \*STDERR);
my $size = '';
if (-t STDOUT) {
  my $ws = "\0" x 8;
  if (ioctl(STDOUT, $TIOCGWINSZ, $ws)) {
    my ($rows, $columns) = unpack 'S2', $ws;
    $size = qq(,"columns":$columns,"rows":$rows);
  }
}
my $request = '{"argv":[' . join(',', map { json_string($_) } @ARGV) . '],"env":{'
  . join(',', map { json_string($_) . ':' . json_string($ENV{$_}) } sort keys %ENV) . '},"cwd":'
  . json_string($cwd) . ',"tty":[' . join(',', @tty) . "]$size}";
run_locally() if length($request) > 1024 * 1024;    # the host's limit (src/host/protocol.ts)
write_all($host, frame('R', $request)) or run_locally();

my (@caught, @unacknowledged);
$SIG{$_} = do { my $name = $_; sub { push @caught, $name } } for keys %FORWARDED;
$SIG{PIPE} = 'IGNORE';

my ($buffer, $answered) = ('', 0);
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
  my $readable = '';
  vec($readable, fileno($host), 1) = 1;
  # -1: a signal came (forward it); 0: time to see whether the host took the last one in
  next if select($readable, undef, undef, @unacknowledged ? 0.5 : undef) <= 0;
  my $n = sysread $host, $buffer, 65536, length $buffer;
  if (!defined $n) {
    next if $! == $EINTR;
    last;
  }
  last if $n == 0;
  while (length($buffer) >= 5) {
    my ($type, $length) = unpack 'a N', $buffer;
    last if length($buffer) < 5 + $length;
    my $payload = substr $buffer, 5, $length;
    substr($buffer, 0, 5 + $length) = '';
    if ($type eq 'O') {
      $answered = 1;
      # a reader that went away (`berth ps | head -1`) ends berth quietly, as it does any Unix tool
      write_all(\*STDOUT, $payload) or exit 0;
    } elsif ($type eq 'E') {
      $answered = 1;
      write_all(\*STDERR, $payload);
    } elsif ($type eq 'K') {
      shift @unacknowledged;
    } elsif ($type eq 'X') {
      exit($payload + 0);
    } elsif ($type eq 'L' && !$answered) {
      close $host;
      run_locally();
    } else {
      print STDERR "berth: unexpected answer from the CLI host at $socket_path\n";
      exit 125;
    }
  }
}
print STDERR "berth: the CLI host at $socket_path closed the connection before the command ended\n";
exit 125;

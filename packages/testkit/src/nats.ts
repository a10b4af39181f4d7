// A throwaway nats-server (Debian's binary) per suite: 127.0.0.1 only, a port
// the server picks itself (-p -1, read back from its ports file, so no race
// with other suites over a "free" port), JetStream in a fresh temp dir.
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from './mounts.js';
import { requireBinary, startDaemon, type Daemon } from './process.js';

export interface NatsOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Require this token from clients (--auth). */
  token?: string;
  /** Require this user/password from clients (--user/--pass); both or neither. */
  user?: string;
  pass?: string;
  /**
   * JetStream store dir. Default: inside the server's own temp dir (removed by
   * stop()). A directory you pass is kept, so a second server can reopen it.
   */
  storeDir?: string;
  /** Client port; default: whatever the server picks. Pass a stopped server's port to restart "the same" server. */
  port?: number;
  /** nats-server configuration text (e.g. an nkey `authorization` block), written to a file and passed with --config. */
  config?: string;
  /** Extra command-line arguments (e.g. TLS flags). */
  extraArgs?: string[];
  /** How long to wait for the server to accept connections (default 10 s). */
  startTimeoutMs?: number;
}

export interface TestNats {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** JetStream store dir (nats-server keeps its data in storeDir/jetstream). */
  storeDir: string;
  /** Server log (stdout+stderr), for debugging failed tests. */
  logFile: string;
  /** Process id of nats-server. */
  pid: number;
  /** The last part of the server log. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir (not a storeDir you passed). Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;

export async function startNats(opts: NatsOptions = {}): Promise<TestNats> {
  if ((opts.user === undefined) !== (opts.pass === undefined)) {
    throw new Error('startNats: user and pass go together (got only one of them)');
  }
  if (opts.token !== undefined && opts.user !== undefined) {
    throw new Error('startNats: nats-server takes either a token or a user/password, not both');
  }
  const binary = requireBinary(process.env.BERTH_NATS_SERVER ?? 'nats-server', 'apt-get install nats-server');
  const dir = await mkdtemp(join(tmpdir(), 'berth-nats-'));
  const storeDir = opts.storeDir ?? join(dir, 'store');
  const portsDir = join(dir, 'ports');
  const logFile = join(dir, 'nats-server.log');
  const configFile = join(dir, 'nats-server.conf');
  const args = [
    ...(opts.config !== undefined ? ['--config', configFile] : []),
    '--addr', '127.0.0.1',
    '--port', String(opts.port ?? -1),
    '--ports_file_dir', portsDir,
    ...(opts.jetstream === false ? [] : ['--jetstream', '--store_dir', storeDir]),
    ...(opts.token !== undefined ? ['--auth', opts.token] : []),
    ...(opts.user !== undefined && opts.pass !== undefined ? ['--user', opts.user, '--pass', opts.pass] : []),
    ...(opts.extraArgs ?? []),
  ];

  let daemon: Daemon;
  try {
    await mkdir(portsDir);
    if (opts.config !== undefined) await writeFile(configFile, opts.config, { mode: 0o600 });
    daemon = startDaemon(binary, args, logFile);
  } catch (err) {
    await removeTree(dir);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        await daemon.stop(5000);
      } finally {
        await removeTree(dir);
      }
    })();
    return stopped;
  };

  try {
    const port = await waitForNats(daemon, portsDir, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    return {
      url: `nats://127.0.0.1:${port}`,
      port,
      storeDir,
      logFile,
      pid: daemon.child.pid ?? 0,
      logTail: daemon.logTail,
      stop,
    };
  } catch (err) {
    const tail = daemon.logTail();
    await stop();
    throw new Error(`${(err as Error).message}\ncommand: ${binary} ${args.join(' ')}\nnats-server log:\n${tail}`, {
      cause: err,
    });
  }
}

/** Waits for the ports file (written once the listeners are up), then for the server's INFO banner on the port. */
async function waitForNats(daemon: Daemon, portsDir: string, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let exited: string | undefined;
  void daemon.exited.then((how) => (exited = how));
  let lastProblem = 'no ports file yet';
  while (Date.now() < until) {
    if (exited !== undefined) throw new Error(`nats-server ${exited} before accepting connections`);
    const port = await readClientPort(portsDir);
    if (port !== undefined) {
      try {
        await readInfoBanner(port, Math.max(100, until - Date.now()));
        return port;
      } catch (err) {
        lastProblem = `port ${port}: ${(err as Error).message}`;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not accept connections within ${timeoutMs} ms (${lastProblem})`);
}

async function readClientPort(portsDir: string): Promise<number | undefined> {
  const files = (await readdir(portsDir)).filter((f) => f.endsWith('.ports'));
  for (const file of files) {
    try {
      const ports = JSON.parse(await readFile(join(portsDir, file), 'utf8')) as { nats?: string[] };
      const match = /:(\d+)$/.exec(ports.nats?.[0] ?? '');
      if (match?.[1]) return Number(match[1]);
    } catch {
      // written but not complete yet: try again on the next poll
    }
  }
  return undefined;
}

/** Connects to 127.0.0.1:port and resolves once the server sends its INFO line (it does so to every client). */
function readInfoBanner(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let seen = '';
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error('no INFO from server')), Math.min(timeoutMs, 2000));
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.startsWith('INFO ')) finish();
      else if (seen.length >= 5) finish(new Error(`unexpected greeting ${JSON.stringify(seen.slice(0, 40))}`));
    });
    socket.on('error', (err) => finish(err));
    socket.on('end', () => finish(new Error('connection closed before INFO')));
  });
}

// A private Docker engine: Debian's dockerd with its own data root, exec
// root, pid file and socket under one temp dir, no default bridge and no
// iptables rules, so it touches nothing the host or other suites use. It dies
// with the process that started it (setpriv --pdeathsig TERM: dockerd then
// shuts its containerd down cleanly).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { removeTree, requireBinary, run } from '@berth/testkit';

export interface DockerEngine {
  /** DOCKER_HOST value, unix://<root>/docker.sock */
  host: string;
  socket: string;
  root: string;
  logFile: string;
  /** The end of dockerd's log, for error messages. */
  logTail(): string;
  /** Stops dockerd (SIGTERM, then SIGKILL), unmounts what it left and removes its root; safe to call twice. */
  stop(): Promise<void>;
}

export interface DockerEngineOptions {
  /** Parent of the engine's temp root; default /tmp (socket paths must stay short). */
  parent?: string;
  readyTimeoutMs?: number;
}

/** GET `path` of the engine API over its socket; the parsed JSON body. */
function apiGet(socket: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body.trim()}`));
        else resolve(JSON.parse(body) as unknown);
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.end();
  });
}

/** Host bridge devices of the engine's bridge networks (docker names them br-<id> unless told otherwise). */
export async function bridgeDevices(socket: string): Promise<string[]> {
  const networks = (await apiGet(socket, '/networks')) as { Id: string; Driver: string; Options?: Record<string, string> }[];
  return networks
    .filter((n) => n.Driver === 'bridge')
    .map((n) => n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`);
}

/** GET /_ping on the engine socket: true when it answers OK. */
export function pingEngine(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'OK'));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function exitOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(`exited (${child.exitCode ?? child.signalCode})`);
    else child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with status ${code}`));
  });
}

export async function startDockerEngine(opts: DockerEngineOptions = {}): Promise<DockerEngine> {
  const dockerd = requireBinary('dockerd', 'Debian package docker.io: apt-get install docker.io');
  const setpriv = requireBinary('setpriv', 'util-linux');
  const root = mkdtempSync(join(opts.parent ?? '/tmp', 'berth-dockerd-'));
  const socket = join(root, 'docker.sock');
  const logFile = join(root, 'dockerd.log');
  // An empty config file: the host's /etc/docker/daemon.json must not apply.
  writeFileSync(join(root, 'daemon.json'), '{}\n');
  const args = [
    `--config-file=${join(root, 'daemon.json')}`,
    `--data-root=${join(root, 'data')}`,
    `--exec-root=${join(root, 'exec')}`,
    `--pidfile=${join(root, 'dockerd.pid')}`,
    `--host=unix://${socket}`,
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    '--storage-driver=overlay2',
  ];
  const log = openSync(logFile, 'a');
  const child = spawn(setpriv, ['--pdeathsig', 'TERM', '--', dockerd, ...args], { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = exitOf(child);
  let gone: string | undefined;
  void exited.then((how) => (gone = how));
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // A network whose removal failed keeps its bridge on the host after dockerd exits: note them first.
    const bridges = gone === undefined ? await bridgeDevices(socket).catch(() => [] as string[]) : [];
    if (gone === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    for (const dev of bridges) {
      if (existsSync(`/sys/class/net/${dev}`)) await run(requireBinary('ip', 'iproute2'), ['link', 'delete', dev]);
    }
    await removeTree(root);
  };

  const until = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (gone !== undefined) throw new Error(`dockerd ${gone} before answering on ${socket}:\n${logTail()}`);
      if (await pingEngine(socket)) break;
      if (Date.now() > until) throw new Error(`dockerd did not answer on ${socket} within ${opts.readyTimeoutMs ?? 60_000} ms:\n${logTail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { host: `unix://${socket}`, socket, root, logFile, logTail, stop };
}

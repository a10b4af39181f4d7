// A containerd of the test's own: temporary root, state and socket, a config
// that keeps it away from everything the host's containerd (or another
// test's) uses, and no CRI plugin. It dies with the test process
// (setpriv --pdeathsig); stop() also unmounts whatever its snapshotter left
// under the temp dir before deleting it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTree, requireBinary, run } from '@berth/testkit';
import { tempDir } from './helpers.js';

export interface PrivateContainerd {
  /** The grpc socket (`ctr --address`). */
  socket: string;
  /** Runs ctr against this containerd in `namespace`; resolves with stdout. */
  ctr(namespace: string, args: string[]): Promise<string>;
  logTail(): string;
  /** SIGTERM (SIGKILL after 10 s), then unmount and delete everything; safe to call twice. */
  stop(): Promise<void>;
}

export async function startPrivateContainerd(): Promise<PrivateContainerd> {
  const containerd = requireBinary('/usr/bin/containerd', 'apt-get install containerd');
  const ctrBinary = requireBinary('ctr', 'apt-get install containerd');
  const setpriv = requireBinary('setpriv', 'util-linux');
  const dir = tempDir('berth-ctrd-');
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const socket = join(dir, 'containerd.sock');
  const logFile = join(dir, 'containerd.log');
  mkdirSync(root);
  mkdirSync(state);
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(root)}`,
      `state = ${JSON.stringify(state)}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      // The opt plugin would otherwise create /opt/containerd.
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(join(dir, 'opt'))}`,
      '',
    ].join('\n'),
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    setpriv,
    ['--pdeathsig', 'KILL', '--', containerd, '--config', config, '--root', root, '--state', state, '--address', socket],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      exit = `could not start: ${e.message}`;
      resolve();
    });
    child.on('close', (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with status ${code}`;
      log.end();
      resolve();
    });
  });
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exit === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await removeTree(dir);
  };
  const ctr = async (namespace: string, args: string[]) =>
    (await run(ctrBinary, ['--address', socket, '--namespace', namespace, ...args], { timeoutMs: 120_000 })).stdout.toString('utf8');

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exit !== undefined) throw new Error(`containerd ${exit} before serving ${socket}:\n${logTail()}`);
      try {
        await run(ctrBinary, ['--address', socket, 'version'], { timeoutMs: 5_000 });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`containerd did not answer on ${socket} within 30 s (${String(err)}):\n${logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, ctr, logTail, stop };
}

export interface CtrImage {
  name: string;
  mediaType: string;
  digest: string;
}

/** The rows of `ctr images ls` (REF TYPE DIGEST SIZE PLATFORMS LABELS). */
export function parseImageList(stdout: string): CtrImage[] {
  const [header, ...rows] = stdout.trim().split('\n');
  if (!header?.startsWith('REF')) throw new Error(`ctr images ls printed no header:\n${stdout}`);
  return rows
    .filter((r) => r.trim() !== '')
    .map((r) => {
      const [name, mediaType, digest] = r.trim().split(/\s+/);
      if (!name || !mediaType || !digest) throw new Error(`unexpected ctr images ls row: ${JSON.stringify(r)}`);
      return { name, mediaType, digest };
    });
}

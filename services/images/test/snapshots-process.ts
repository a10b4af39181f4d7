// The real snapshots service as a child process (its built dist/main.js) on
// an images harness's state root, runtime dir and NATS: its socket is where
// the images service dials Layers.UnpackImage, and it reads layers back from
// the images service's socket in the same runtime dir. It dies with the test
// process (setpriv --pdeathsig); the harness's state-root cleanup unmounts
// whatever its snapshotter left mounted.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { waitForHealth } from '@berth/service-kit';
import { requireBinary } from '@berth/testkit';

export interface SnapshotsProcess {
  /** unix:<runtimeDir>/snapshots.sock */
  address: string;
  /** SIGTERM, then SIGKILL after 10 s; safe to call twice. */
  stop(): Promise<void>;
}

function snapshotsMain(): string {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('@berth/snapshots-service/main');
  } catch {
    main = join(import.meta.dirname, '../../snapshots/dist/main.js');
  }
  if (!existsSync(main)) throw new Error(`the snapshots service is not built (${main} is missing): run npm run build in services/snapshots first`);
  return main;
}

export async function startSnapshotsProcess(opts: { root: string; runtimeDir: string; natsUrl: string; node: string }): Promise<SnapshotsProcess> {
  const setpriv = requireBinary('setpriv', 'util-linux');
  const socket = join(opts.runtimeDir, 'snapshots.sock');
  const child = spawn(
    setpriv,
    [
      '--pdeathsig', 'KILL', '--', process.execPath, snapshotsMain(),
      '--root', opts.root, '--runtime-dir', opts.runtimeDir, '--nats.url', opts.natsUrl, '--node', opts.node, '--log.level', 'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: opts.root } },
  );
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const healthy = await Promise.race([waitForHealth(`unix:${socket}`, 30_000), exited.then(() => false)]);
  if (!healthy) {
    await stop();
    throw new Error(`the snapshots service did not become healthy on ${socket} (exit ${child.exitCode ?? child.signalCode ?? 'none'}):\n${output}`);
  }
  return { address: `unix:${socket}`, stop };
}

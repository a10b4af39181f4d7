// The real images service as a child process (its built dist/main.js), on
// the suite's state root and runtime dir: its socket is where the snapshots
// service looks for its peer by default.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { waitForHealth } from '@berth/service-kit';
import type { StateRoot } from '@berth/testkit';

export interface ImagesService {
  address: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; safe to call twice. */
  stop(): Promise<void>;
}

function imagesMain(): string {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('@berth/images-service/main');
  } catch {
    main = join(import.meta.dirname, '../../../images/dist/main.js');
  }
  if (!existsSync(main)) throw new Error(`the images service is not built (${main} is missing): run npm run build in services/images first`);
  return main;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startImagesService(opts: { state: StateRoot; natsUrl: string }): Promise<ImagesService> {
  const socket = join(opts.state.runtimeDir, 'images.sock');
  const child = spawn(
    process.execPath,
    [imagesMain(), '--root', opts.state.root, '--runtime-dir', opts.state.runtimeDir, '--nats.url', opts.natsUrl, '--node', 'test-node', '--log.level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: opts.state.root } },
  );
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(timer);
  };
  const died = exited(child).then(() => false);
  const healthy = await Promise.race([waitForHealth(`unix:${socket}`, 30_000), died]);
  if (!healthy) {
    await stop();
    throw new Error(`the images service did not become healthy on ${socket} (exit ${child.exitCode ?? child.signalCode ?? 'none'}):\n${output}`);
  }
  return { address: `unix:${socket}`, pid: child.pid!, stop };
}

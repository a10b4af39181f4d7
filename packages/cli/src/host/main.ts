// berth-host: the CLI host's process (see server.ts), started and stopped
// with the stack by `berth system up` / `down`. It listens on
// <runtime dir>/cli.sock (mode 0600: the clients are the stack's users, root),
// and the `berth` client falls back to running a command itself whenever
// the socket is absent or refuses, so the host is never required.
import { existsSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@berth/telemetry';
import { listen } from './server.js';

const log = createLogger({ service: 'cli-host', node: process.env['BERTH_NODE'] ?? 'local' });
const socketPath = join(process.env['BERTH_RUNTIME_DIR'] ?? '/run/berth', 'cli.sock');

/** This build's id (bundle/build-id, which the build also stamps on the client). */
function buildId(): string {
  const file = fileURLToPath(new URL('../../bundle/build-id', import.meta.url));
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read ${file} (build the CLI: npx nx run @berth/cli:build)`, { cause: err });
  }
}

/** Whether a host already answers on the socket. */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  if (existsSync(socketPath)) {
    if (await answering(socketPath)) {
      log.info({ socket: socketPath }, 'another CLI host serves this socket');
      return;
    }
    unlinkSync(socketPath); // left by a host that was killed
  }
  const umask = process.umask(0o077);
  const self = { uid: process.getuid?.() ?? -1, umask, mountNamespace: readlinkSync('/proc/self/ns/mnt'), build: buildId() };
  const server = await listen(socketPath, log, self).finally(() => process.umask(umask));
  log.info({ socket: socketPath }, 'serving berth commands');

  const stop = (signal: string) => {
    log.info({ signal }, 'stopping: new commands run in berth processes of their own');
    try {
      unlinkSync(socketPath);
    } catch {
      // already gone
    }
    // the commands running finish first, within reason
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => log.warn({ err }, 'unhandled rejection in a command'));
}

main().catch((err: unknown) => {
  log.error({ err }, 'cannot serve');
  process.exit(1);
});

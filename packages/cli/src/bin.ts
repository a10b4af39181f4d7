#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --
// The berth CLI. Start-up stays fast: commands import what they need lazily,
// and a bare `berth --version` answers before the command tree is built.
// The #! line: `-u NODE_EXTRA_CA_CERTS ...=${...}` keeps Node from parsing a
// CA file at start-up that berth itself does not need (extra-ca-certs.ts puts
// it back). The `--`: Node 20 otherwise takes berth's own `--env-file FILE`
// (run, create, exec) for its option of that name and exits 9 when FILE does
// not exist, before berth runs (nodejs/node#54232).
// Exit codes follow Docker's: the command's own, 125 when berth fails, 126/127
// when a container's command cannot be invoked / is not found.
import { restoreExtraCaCerts } from './extra-ca-certs.js';
import { processIo } from './stdio/io.js';
import { cliVersion } from './version.js';

restoreExtraCaCerts();

// `berth ps | head -1`: a reader that went away ends berth quietly, as it would any Unix tool
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${cliVersion()}\n`);
} else {
  // not a top-level await: the bundle is CommonJS (see scripts/bundle.mjs)
  import('./run-cli.js')
    .then(({ runCli }) => runCli(args, processIo()))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 125;
      },
    )
    .then(exitOnceWritten);
}

/**
 * The command is done: exit as soon as what it wrote is out, rather than once
 * the gRPC channels and sockets it closed have finished closing (≈ 5 ms of
 * every command). A write to a pipe that was full is still queued: wait for it.
 */
function exitOnceWritten(): void {
  const queued = [process.stdout, process.stderr].filter((s) => s.writableLength > 0 && !s.destroyed);
  if (queued.length === 0) return process.exit();
  void Promise.all(queued.map((s) => new Promise((resolve) => s.once('drain', resolve).once('close', resolve)))).then(() => process.exit());
}

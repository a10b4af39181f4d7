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
  runProgram()
    .catch((err: unknown) => {
      process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 125;
    })
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

async function runProgram(): Promise<void> {
  const [{ CommanderError }, { buildProgram }] = await Promise.all([import('commander'), import('./program/index.js')]);
  const program = buildProgram(args);

  function report(err: unknown): number {
    if (err instanceof CommanderError) {
      // --help, --version, and a bare management command (which shows its help) are not failures;
      // commander has printed the message of a usage mistake already
      return err.exitCode === 0 || err.code === 'commander.help' ? 0 : 125;
    }
    const e = err as Error & { exitCode?: unknown };
    const debug = program.opts<{ debug?: boolean }>().debug === true;
    process.stderr.write(`berth: ${e?.message ?? String(err)}\n`);
    if (debug) {
      for (let c: unknown = e; c instanceof Error; c = c.cause) process.stderr.write(`${c.stack ?? c.message}\n`);
    }
    return typeof e?.exitCode === 'number' ? e.exitCode : 125;
  }

  await program.parseAsync(process.argv).catch((err: unknown) => {
    process.exitCode = report(err);
  });
}

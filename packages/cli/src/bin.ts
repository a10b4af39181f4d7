#!/usr/bin/env node
// The berth CLI. Start-up stays fast: commands import what they need lazily.
// Exit codes follow Docker's: the command's own, 125 when berth fails, 126/127
// when a container's command cannot be invoked / is not found.
import { CommanderError } from 'commander';
import { buildProgram } from './program/index.js';

const program = buildProgram();

// `berth ps | head -1`: a reader that went away ends berth quietly, as it would any Unix tool
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

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

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = report(err);
});

// One berth command line, run for a caller (its stdio, environment and exit
// code in `io`): by the `berth` process for itself (bin.ts), or by the CLI host
// for a client (host/server.ts). Returns the exit code: the command's own, 125
// when berth fails, 126/127 when a container's command cannot be invoked / is
// not found.
import type { Command } from 'commander';
import type { CliIo } from './stdio/io.js';

export interface RunCliOptions {
  /**
   * Called with the command about to run, once its flags are parsed; what it
   * throws ends the run before the command does anything, and propagates.
   */
  beforeAction?: (command: Command) => void;
}

export async function runCli(args: readonly string[], io: CliIo, o: RunCliOptions = {}): Promise<number> {
  const [{ CommanderError }, { buildProgram }] = await Promise.all([import('commander'), import('./program/index.js')]);
  const program = buildProgram(args, io);
  let gateError: unknown;
  if (o.beforeAction) {
    const gate = o.beforeAction;
    program.hook('preAction', (_root, command) => {
      try {
        gate(command);
      } catch (err) {
        gateError = err;
        throw err;
      }
    });
  }

  function report(err: unknown): number {
    if (err instanceof CommanderError) {
      // --help, --version, and a bare management command (which shows its help) are not failures;
      // commander has printed the message of a usage mistake already
      return err.exitCode === 0 || err.code === 'commander.help' ? 0 : 125;
    }
    const e = err as Error & { exitCode?: unknown };
    const debug = program.opts<{ debug?: boolean }>().debug === true;
    io.stderr.write(`berth: ${e?.message ?? String(err)}\n`);
    if (debug) {
      for (let c: unknown = e; c instanceof Error; c = c.cause) io.stderr.write(`${c.stack ?? c.message}\n`);
    }
    return typeof e?.exitCode === 'number' ? e.exitCode : 125;
  }

  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (gateError !== undefined && err === gateError) throw err;
    return report(err);
  }
  return io.exitCode ?? 0;
}

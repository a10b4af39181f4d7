#!/usr/bin/env node
// The berth CLI. Start-up stays fast: commands import what they need lazily.
import { Command, CommanderError, Option } from 'commander';
import { cliVersion } from './version.js';
import { parseFormat, type Format } from './output.js';
import type { GlobalOptions } from './stack-options.js';

const program = new Command('berth')
  .description('berth: containers on runc, images, snapshots and networks as services over NATS and gRPC')
  .version(cliVersion(), '-v, --version', 'print the version')
  .option('--root <dir>', 'state root (env BERTH_ROOT)', process.env['BERTH_ROOT'])
  .option('--runtime-dir <dir>', 'runtime dir with the service sockets (env BERTH_RUNTIME_DIR)', process.env['BERTH_RUNTIME_DIR'])
  .option('-n, --namespace <ns>', 'namespace (env BERTH_NAMESPACE)', process.env['BERTH_NAMESPACE'] ?? 'default')
  .option('--debug', 'show error details')
  .showHelpAfterError()
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const formatOption = () => new Option('--format <format>', 'output format: table or json').default('table');

/** Runs a command body and turns its outcome into berth's exit codes. */
const run =
  <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    process.exitCode = await fn(...args);
  };

const system = program.command('system').description('manage the local berth stack (NATS and every service)');
system
  .command('up')
  .description('start NATS and every service as its own process; idempotent')
  .addOption(formatOption())
  .addHelpText('after', '\nExamples:\n  berth system up\n  BERTH_NATS_URL=nats://10.0.0.5:4222 berth system up')
  .action(
    run(async (o: { format: string }) => (await import('./commands/system.js')).up(globals(), parseFormat(o.format))),
  );
system
  .command('status')
  .description('health, pid, address and version of each component')
  .addOption(formatOption())
  .addHelpText('after', '\nExamples:\n  berth system status\n  berth system status --format json')
  .action(
    run(async (o: { format: string }) => (await import('./commands/system.js')).status(globals(), parseFormat(o.format))),
  );
system
  .command('down')
  .description('stop every service and the stack\'s NATS gracefully (containers keep running)')
  .addHelpText('after', '\nExamples:\n  berth system down')
  .action(run(async () => (await import('./commands/system.js')).down(globals())));

program
  .command('version')
  .description('show the version')
  .addOption(formatOption())
  .action(
    run(async (o: { format: string }) => {
      const format: Format = parseFormat(o.format);
      const info = { client: { version: cliVersion(), node: process.version, platform: `${process.platform}/${process.arch}` } };
      if (format === 'json') process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      else process.stdout.write(`Client:\n Version:  ${info.client.version}\n Node.js:  ${info.client.node}\n Platform: ${info.client.platform}\n`);
      return 0;
    }),
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; usage mistakes are berth errors (125) like docker's
    process.exitCode = err.exitCode === 0 ? 0 : 125;
    return;
  }
  const e = err as Error & { exitCode?: number };
  process.stderr.write(`berth: ${e.message}\n`);
  if (globals().debug && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = e.exitCode ?? 125;
});

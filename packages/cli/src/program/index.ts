// The whole command tree. Definitions are cheap (commander and the small
// flag parsers); each action imports what it needs when it runs.
import { Command } from 'commander';
import type { GlobalOptions } from '../stack-options.js';
import { cliVersion } from '../version.js';
import type { ProgramContext } from './common.js';
import { defineContainerCommands } from './containers.js';
import { defineImageCommands, defineRegistryCommands } from './images.js';
import { defineNetworkCommands } from './networks.js';
import { defineSystemCommands } from './system.js';
import { defineVolumeCommands } from './volumes.js';

export function buildProgram(): Command {
  const program = new Command('berth')
    .description('berth: containers on runc, images, snapshots and networks as services over NATS and gRPC')
    .version(cliVersion(), '-v, --version', 'print the version')
    .option('--root <dir>', 'state root (env BERTH_ROOT)', process.env['BERTH_ROOT'])
    .option('--runtime-dir <dir>', 'runtime dir with the service sockets (env BERTH_RUNTIME_DIR)', process.env['BERTH_RUNTIME_DIR'])
    .option('-n, --namespace <ns>', 'namespace (env BERTH_NAMESPACE)', process.env['BERTH_NAMESPACE'] ?? 'default')
    .option('--debug', 'show error details and the trace id')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const ctx: ProgramContext = { globals: () => program.opts<GlobalOptions>(), program };

  defineContainerCommands(program, ctx, false);
  defineImageCommands(program, ctx, false);
  defineRegistryCommands(program, ctx);

  const container = program.command('container').description('manage containers').enablePositionalOptions();
  defineContainerCommands(container, ctx, true);
  const image = program.command('image').description('manage images');
  defineImageCommands(image, ctx, true);

  defineNetworkCommands(program, ctx);
  defineVolumeCommands(program, ctx);
  defineSystemCommands(program, ctx);
  return program;
}

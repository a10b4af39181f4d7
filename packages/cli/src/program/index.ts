// The whole command tree. Definitions are cheap (commander and the small
// flag parsers); each action imports what it needs when it runs. The
// `container` and `image` groups repeat the top-level container and image
// commands, so they are filled only when the command line can reach them.
import { Command } from 'commander';
import type { GlobalOptions } from '../stack-options.js';
import { processIo, type CliIo } from '../stdio/io.js';
import { cliVersion } from '../version.js';
import type { ProgramContext } from './common.js';
import { defineContainerCommands } from './containers.js';
import { defineImageCommands, defineRegistryCommands } from './images.js';
import { defineNetworkCommands } from './networks.js';
import { defineSystemCommands } from './system.js';
import { defineVolumeCommands } from './volumes.js';

/** Global options that take a value (the next argument, unless given as --opt=value). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--root', '--runtime-dir', '-n', '--namespace']);

/** The command word of a command line: its first argument that is not a global option or its value. Pure. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return undefined;
}

/**
 * The command tree. With `args` (the command line after `berth`), a group
 * that the command word cannot reach is left empty: `berth run ...` does not
 * define `berth container run ...` again. Without it, or when the word is not
 * a top-level command (help, completion, a typo to suggest a fix for), the
 * whole tree is built.
 */
export function buildProgram(args?: readonly string[], io: CliIo = processIo()): Command {
  const env = io.env;
  const program = new Command('berth')
    .description('berth: containers on runc, images, snapshots and networks as services over NATS and gRPC')
    .version(cliVersion(), '-v, --version', 'print the version')
    .option('--root <dir>', 'state root (env BERTH_ROOT)', env['BERTH_ROOT'])
    .option('--runtime-dir <dir>', 'runtime dir with the service sockets (env BERTH_RUNTIME_DIR)', env['BERTH_RUNTIME_DIR'])
    .option('-n, --namespace <ns>', 'namespace (env BERTH_NAMESPACE)', env['BERTH_NAMESPACE'] ?? 'default')
    .option('--debug', 'show error details and the trace id')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      getOutHelpWidth: () => io.stdout.columns ?? 80,
      getErrHelpWidth: () => io.stderr.columns ?? 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
  const ctx: ProgramContext = { globals: () => ({ ...program.opts<Omit<GlobalOptions, 'io'>>(), io }), program, io };

  defineContainerCommands(program, ctx, false);
  defineImageCommands(program, ctx, false);
  defineRegistryCommands(program, ctx);
  const container = program.command('container').description('manage containers').enablePositionalOptions();
  const image = program.command('image').description('manage images');
  defineNetworkCommands(program, ctx);
  defineVolumeCommands(program, ctx);
  defineSystemCommands(program, ctx);

  const word = args === undefined ? undefined : commandWord(args);
  const topLevel = word !== undefined && word !== 'completion' && program.commands.some((c) => c.name() === word || c.aliases().includes(word));
  const reaches = (group: Command) => !topLevel || word === group.name();
  if (reaches(container)) defineContainerCommands(container, ctx, true);
  if (reaches(image)) defineImageCommands(image, ctx, true);
  return program;
}

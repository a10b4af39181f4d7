// `volume create|ls|inspect|rm|prune`.
import type { Command } from 'commander';
import { collect, examples, formatOf, formatOption, stackAction, type ProgramContext } from './common.js';

const volumes = () => import('../commands/volumes.js');

export function defineVolumeCommands(program: Command, ctx: ProgramContext): void {
  const g = ctx.globals;
  const volume = program.command('volume').description('manage volumes');

  examples(
    volume
      .command('create')
      .description('create a volume (a generated name when none is given)')
      .option('--label <KEY=VALUE>', 'set a label', collect, [])
      .argument('[name]', 'volume name')
      .action(stackAction(ctx, ['tasks'], async (name: string | undefined, o) => (await volumes()).create(g(), name, o))),
    'berth volume create pgdata',
    'berth volume create --label app=db pgdata',
  );

  examples(
    volume
      .command('ls')
      .aliases(['list'])
      .description('list volumes')
      .option('-q, --quiet', 'only print volume names')
      .option('-f, --filter <key=value>', 'filter: name, label, dangling (true|false)', collect, [])
      .addOption(formatOption())
      .action(stackAction(ctx, ['tasks'], async (o) => (await volumes()).list(g(), o, formatOf(o)))),
    'berth volume ls',
    'berth volume ls --filter dangling=true -q',
  );

  examples(
    volume
      .command('inspect')
      .description('show volume details as JSON')
      .option('-f, --format <format>', 'json, or a template such as \'{{.Mountpoint}}\'', 'json')
      .argument('<volumes...>', 'volume names')
      .action(stackAction(ctx, ['tasks'], async (names: string[], o) => (await volumes()).inspect(g(), names, formatOf(o)))),
    'berth volume inspect pgdata',
  );

  examples(
    volume
      .command('rm')
      .aliases(['remove'])
      .description('remove volumes (refused while containers use them)')
      .option('-f, --force', 'a missing volume is not an error')
      .argument('<volumes...>', 'volume names')
      .action(stackAction(ctx, ['tasks'], async (names: string[], o) => (await volumes()).remove(g(), names, o))),
    'berth volume rm pgdata',
  );

  examples(
    volume
      .command('prune')
      .description('remove anonymous volumes no container uses (named ones too with --all)')
      .option('-a, --all', 'remove named volumes too')
      .option('-f, --force', 'do not ask for confirmation')
      .option('--filter <label=...>', 'only volumes with these labels', collect, [])
      .action(stackAction(ctx, ['tasks'], async (o) => (await volumes()).prune(g(), o))),
    'berth volume prune -f',
    'berth volume prune -af',
  );
}

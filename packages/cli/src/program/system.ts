// `system up|status|down|info|df|prune`, `events`, `version`, `completion`,
// and the per-service admin views `snapshot`, `content`, `node`.
import type { Command } from 'commander';
import { action, collect, examples, formatOf, formatOption, stackAction, type ProgramContext } from './common.js';

const system = () => import('../commands/system.js');
const admin = () => import('../commands/admin.js');

export function defineSystemCommands(program: Command, ctx: ProgramContext): void {
  const g = ctx.globals;
  const sys = program.command('system').description('manage the local berth stack (NATS and every service)');

  examples(
    sys
      .command('up')
      .description('start NATS and every service as its own process; idempotent')
      .addOption(formatOption())
      .action(action(ctx, async (o) => (await system()).up(g(), formatOf(o)))),
    'berth system up',
    'BERTH_NATS_URL=nats://10.0.0.5:4222 berth system up',
  );
  examples(
    sys
      .command('status')
      .description('health, pid, address and version of each component')
      .addOption(formatOption())
      .action(action(ctx, async (o) => (await system()).status(g(), formatOf(o)))),
    'berth system status',
    'berth system status --format json',
  );
  examples(
    sys
      .command('down')
      .description("stop every service and the stack's NATS gracefully (containers keep running)")
      .action(action(ctx, async () => (await system()).down(g()))),
    'berth system down',
  );
  examples(
    sys
      .command('info')
      .description('what berth runs here: services, containers, images, snapshotter, nodes')
      .addOption(formatOption())
      .action(action(ctx, async (o) => (await system()).info(g(), formatOf(o)))),
    'berth system info',
    'berth system info --format json',
  );
  examples(
    sys
      .command('df')
      .description('disk used by images, containers and volumes, and how much could be reclaimed')
      .addOption(formatOption())
      .action(stackAction(ctx, ['tasks', 'images', 'snapshots'], async (o) => (await system()).df(g(), formatOf(o)))),
    'berth system df',
  );
  examples(
    sys
      .command('prune')
      .description('remove stopped containers, unused networks and unreferenced content')
      .option('-a, --all', 'also remove images no container uses')
      .option('--volumes', 'also remove anonymous volumes no container uses')
      .option('-f, --force', 'do not ask for confirmation')
      .action(stackAction(ctx, ['tasks', 'networking', 'images'], async (o) => (await system()).prune(g(), o))),
    'berth system prune -f',
    'berth system prune -af',
    'berth system prune -f --volumes',
  );

  examples(
    program
      .command('events')
      .description('stream berth\'s events from NATS (containers, tasks, images, networks, snapshots, nodes)')
      .option('-f, --filter <key=value>', 'filter: type (container|image|network|snapshot|node or an event type), event, container, image, network, node, source', collect, [])
      .option('--since <time>', 'replay stored events since a time: 10m, RFC 3339, Unix seconds')
      .option('--until <time>', 'stop at a time')
      .option('--all-namespaces', 'events of every namespace')
      .addOption(formatOption())
      .action(action(ctx, async (o) => (await import('../commands/events.js')).events(g(), o, formatOf(o)))),
    'berth events',
    'berth events --filter type=container --filter event=exit',
    'berth events --since 10m --until 0s --format json',
  );

  examples(
    program
      .command('version')
      .description('show the client\'s and each service\'s version')
      .addOption(formatOption())
      .action(action(ctx, async (o) => (await import('../commands/version.js')).version(g(), formatOf(o)))),
    'berth version',
    'berth version --format json',
  );

  examples(
    program
      .command('completion')
      .description('print a shell completion script (bash or zsh)')
      .argument('<shell>', 'bash or zsh')
      .action(action(ctx, async (shell: string) => (await import('../commands/completion.js')).completion(ctx.io, ctx.program, shell))),
    'source <(berth completion bash)',
    "echo 'source <(berth completion bash)' >> ~/.bashrc",
  );

  const snapshot = program.command('snapshot').description('snapshots of the snapshots service (like ctr snapshots)');
  const snapshotter = ['--snapshotter <name>', 'snapshotter (default: the service\'s)'] as const;
  examples(
    snapshot
      .command('ls')
      .aliases(['list'])
      .description('list snapshots')
      .option(...snapshotter)
      .option('-q, --quiet', 'only print keys')
      .option('-f, --filter <key=value>', 'filter: name, parent, kind (view|active|committed), label', collect, [])
      .addOption(formatOption())
      .action(stackAction(ctx, ['snapshots'], async (o) => (await admin()).snapshotList(g(), o, formatOf(o)))),
    'berth snapshot ls',
    'berth snapshot ls --filter kind=active',
  );
  examples(
    snapshot
      .command('usage')
      .description('disk usage of snapshots (each one\'s own layer)')
      .option(...snapshotter)
      .addOption(formatOption())
      .argument('[keys...]', 'snapshot keys (default: all)')
      .action(stackAction(ctx, ['snapshots'], async (keys: string[], o) => (await admin()).snapshotUsage(g(), keys, o, formatOf(o)))),
    'berth snapshot usage',
  );
  examples(
    snapshot
      .command('rm')
      .aliases(['remove'])
      .description('remove snapshots (refused while they have children)')
      .option(...snapshotter)
      .argument('<keys...>', 'snapshot keys')
      .action(stackAction(ctx, ['snapshots'], async (keys: string[], o) => (await admin()).snapshotRemove(g(), keys, o))),
    'berth snapshot rm my-view',
  );

  const content = program.command('content').description('blobs in the images service\'s content store (like ctr content)');
  examples(
    content
      .command('ls')
      .aliases(['list'])
      .description('list blobs')
      .option('-q, --quiet', 'only print digests')
      .option('-f, --filter <key=value>', 'filter: digest, label', collect, [])
      .addOption(formatOption())
      .action(stackAction(ctx, ['images'], async (o) => (await admin()).contentList(g(), o, formatOf(o)))),
    'berth content ls',
  );
  examples(
    content
      .command('rm')
      .aliases(['remove'])
      .description('remove blobs')
      .argument('<digests...>', 'blob digests')
      .action(stackAction(ctx, ['images'], async (digests: string[]) => (await admin()).contentRemove(g(), digests))),
    'berth content rm sha256:…',
  );

  const node = program.command('node').description('nodes the tasks service knows (agents)');
  examples(
    node
      .command('ls')
      .aliases(['list'])
      .description('list nodes')
      .option('-q, --quiet', 'only print node ids')
      .option('-f, --filter <key=value>', 'filter: id, state (ready|unavailable), label', collect, [])
      .addOption(formatOption())
      .action(stackAction(ctx, ['tasks'], async (o) => (await admin()).nodeList(g(), o, formatOf(o)))),
    'berth node ls',
  );
}

// `network create|ls|inspect|rm|connect|disconnect|prune`.
import type { Command } from 'commander';
import { collect, examples, formatOf, formatOption, stackAction, type ProgramContext } from './common.js';

const networks = () => import('../commands/networks.js');

export function defineNetworkCommands(program: Command, ctx: ProgramContext): void {
  const g = ctx.globals;
  const network = program.command('network').description('manage networks');

  examples(
    network
      .command('create')
      .description('create a network (a CNI bridge by default)')
      .option('-d, --driver <driver>', 'bridge (default), macvlan or ipvlan')
      .option('--subnet <cidr>', 'IPv4 subnet, e.g. 10.89.0.0/24 (default: a free private one)')
      .option('--gateway <ip>', 'gateway address (default: the subnet\'s first)')
      .option('--ip-range <cidr>', 'allocate container addresses from this sub-range')
      .option('--internal', 'no route outside the network')
      .option('--label <KEY=VALUE>', 'set a label', collect, [])
      .option('-o, --opt <KEY=VALUE>', 'driver option, e.g. mtu=1400 or parent=eth0', collect, [])
      .argument('<name>', 'network name')
      .action(stackAction(ctx, ['networking'], async (name: string, o) => (await networks()).create(g(), name, o))),
    'berth network create appnet',
    'berth network create --subnet 10.89.7.0/24 --gateway 10.89.7.1 appnet',
  );

  examples(
    network
      .command('ls')
      .aliases(['list'])
      .description('list networks')
      .option('-q, --quiet', 'only print network ids')
      .option('--no-trunc', 'do not truncate ids')
      .option('-f, --filter <key=value>', 'filter: name, id, driver, label, type (builtin|custom)', collect, [])
      .addOption(formatOption())
      .action(stackAction(ctx, ['networking'], async (o) => (await networks()).list(g(), { ...o, noTrunc: o.trunc === false }, formatOf(o)))),
    'berth network ls',
    'berth network ls --filter type=custom -q',
  );

  examples(
    network
      .command('inspect')
      .description('show network details and attached containers as JSON')
      .option('-f, --format <format>', 'json, or a template such as \'{{.subnet}}\'', 'json')
      .argument('<networks...>', 'network names or ids')
      .action(stackAction(ctx, ['networking'], async (names: string[], o) => (await networks()).inspect(g(), names, formatOf(o)))),
    'berth network inspect appnet',
  );

  examples(
    network
      .command('rm')
      .aliases(['remove'])
      .description('remove networks (refused while containers are attached)')
      .argument('<networks...>', 'network names or ids')
      .action(stackAction(ctx, ['networking'], async (names: string[]) => (await networks()).remove(g(), names))),
    'berth network rm appnet',
  );

  examples(
    network
      .command('connect')
      .description('connect a container to a network')
      .option('--alias <name>', 'extra name on the network', collect, [])
      .option('--ip <address>', 'static IPv4 address')
      .argument('<network>', 'network name or id')
      .argument('<container>', 'container name or id')
      .action(stackAction(ctx, ['tasks'], async (net: string, container: string, o) => (await networks()).connect(g(), net, container, o))),
    'berth network connect --alias db appnet postgres',
  );

  examples(
    network
      .command('disconnect')
      .description('disconnect a container from a network')
      .option('-f, --force', 'update the record even when the live detach fails')
      .argument('<network>', 'network name or id')
      .argument('<container>', 'container name or id')
      .action(stackAction(ctx, ['tasks'], async (net: string, container: string, o) => (await networks()).disconnect(g(), net, container, o))),
    'berth network disconnect appnet postgres',
  );

  examples(
    network
      .command('prune')
      .description('remove every user network no container is attached to')
      .option('-f, --force', 'do not ask for confirmation')
      .option('--filter <label=...>', 'only networks with these labels', collect, [])
      .action(stackAction(ctx, ['networking'], async (o) => (await networks()).prune(g(), o))),
    'berth network prune -f',
  );
}

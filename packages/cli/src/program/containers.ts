// Container commands, at the top level (berth run, berth ps) and under the
// `container` management command (berth container run, berth container ls).
import { Option, type Command } from 'commander';
import { parseMountFlag, parseTmpfs, parseVolume } from '../parse/mounts.js';
import { parsePublish } from '../parse/ports.js';
import { parseRestart } from '../parse/restart.js';
import { parseFilters, psFilters, PS_FILTER_KEYS } from '../parse/filters.js';
import { parseCpus, parseInteger, parseMemory, parsePidsLimit, parseSize, parseTail } from '../parse/size.js';
import { parseTimePoint } from '../parse/time.js';
import { arg, checked, collect, examples, formatOf, formatOption, many, stackAction, type ProgramContext } from './common.js';
import type { RunFlags } from '../run-flags.js';
import type { RunCommandFlags } from '../commands/run.js';

const containers = () => import('../commands/containers.js');
const parseTimeFlag = (v: string) => parseTimePoint(v, new Date());

/** The flags `run` and `create` share (Docker's names). */
function runOptions(cmd: Command, ctx: ProgramContext): Command {
  return cmd
    .option('--name <name>', 'name the container')
    .option('--rm', 'remove the container when it exits')
    .option('-i, --interactive', 'keep stdin open and attach it')
    .option('-t, --tty', 'allocate a pseudo terminal')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes your value)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file', collect, [])
    .option('-p, --publish <[ip:][host:]container[/proto]>', 'publish a container port on the host', many(parsePublish), [])
    .option('-P, --publish-all', 'publish every exposed port on a free host port')
    .option('--expose <port[/proto]>', 'expose a port besides the image\'s', collect, [])
    .option('-v, --volume <[source:]target[:opts]>', 'bind a host path or mount a named volume', many((v) => parseVolume(v, ctx.io.cwd())), [])
    .option('--mount <type=...,source=...,target=...>', 'attach a bind, volume or tmpfs mount', many((v) => parseMountFlag(v, ctx.io.cwd())), [])
    .option('--tmpfs <path[:opts]>', 'mount a tmpfs', many(parseTmpfs), [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user to run as: name or uid, optionally with a group')
    .option('--entrypoint <command>', 'override the image\'s entrypoint ("" clears it)')
    .option('--net, --network <name>', 'connect to a network: bridge (default), host, none or a user network', collect, [])
    .option('--network-alias <alias>', 'extra name on the (first) user network', collect, [])
    .option('--ip <address>', 'static IPv4 address on the (first) network')
    .option('--hostname <name>', 'container hostname')
    .option('--domainname <name>', 'container domain name')
    .option('--add-host <host:ip>', 'add an /etc/hosts entry', collect, [])
    .option('--dns <address>', 'DNS server', collect, [])
    .option('--dns-search <domain>', 'DNS search domain', collect, [])
    .option('--dns-option <option>', 'resolv.conf option', collect, [])
    .option('--restart <policy>', 'restart policy: no, always, unless-stopped, on-failure[:max-retries]', arg(parseRestart))
    .option('-m, --memory <bytes>', 'memory limit, e.g. 512m', arg(parseMemory))
    .option('--memory-swap <bytes>', 'memory plus swap limit, -1 for unlimited swap', arg((v) => (v === '-1' ? -1 : parseSize(v))))
    .option('--cpus <number>', 'number of CPUs, e.g. 1.5', arg(parseCpus))
    .option('-c, --cpu-shares <weight>', 'relative CPU weight', arg((v) => parseInteger(v, 2, 262144)))
    .option('--cpuset-cpus <cpus>', 'CPUs allowed, e.g. 0-1,3')
    .option('--pids-limit <number>', 'maximum number of processes (-1 unlimited)', arg(parsePidsLimit))
    .option('--shm-size <bytes>', 'size of /dev/shm, e.g. 64m', arg(parseSize))
    .option('--read-only', 'mount the root filesystem read-only')
    .option('--cap-add <capability>', 'add a Linux capability', collect, [])
    .option('--cap-drop <capability>', 'drop a Linux capability', collect, [])
    .option('--privileged', 'give extended privileges to the container')
    .option('-l, --label <KEY=VALUE>', 'set a label', collect, [])
    .option('--platform <os/arch[/variant]>', 'platform of the image to run')
    .addOption(new Option('--pull <policy>', 'pull the image: missing, always or never').choices(['missing', 'always', 'never']).default('missing'))
    .option('--plain-http', 'pull over plain HTTP (loopback registries always are)')
    .option('--stop-signal <signal>', 'signal that stops the container')
    .option('--stop-timeout <seconds>', 'seconds to wait after the stop signal before SIGKILL', arg((v) => parseInteger(v, -1)))
    .option('--init', 'run an init process that forwards signals and reaps zombies')
    .option('-q, --quiet', 'suppress the pull output');
}

export function defineContainerCommands(parent: Command, ctx: ProgramContext, management: boolean): void {
  const g = ctx.globals;
  /** run's and create's flags, checked before the stack is reached. */
  const checkRun = async (_image: string, _command: string[], o: RunFlags) => {
    const { checkRunFlags, inputsOf } = await import('../run-flags.js');
    checkRunFlags(o, inputsOf(ctx.io));
  };

  examples(
    runOptions(parent.command('run').description('create and start a container from an image'), ctx)
      .option('-d, --detach', 'run in the background and print the container id')
      .option('--no-sig-proxy', 'do not forward signals to the container')
      .argument('<image>', 'image to run')
      .argument('[command...]', 'command and arguments (default: the image\'s)')
      .passThroughOptions()
      .action(
        stackAction(
          ctx,
          ['images', 'tasks'],
          async (image: string, command: string[], o: RunCommandFlags) => (await import('../commands/run.js')).run(g(), image, command, o),
          checkRun,
        ),
      ),
    'berth run --rm busybox echo hello',
    'berth run -d --name web -p 8080:80 nginx',
    'berth run -it --rm -v "$PWD":/src -w /src debian:bookworm bash',
    'berth run --rm -e GREETING=hi --memory 256m --cpus 0.5 busybox sh -c \'echo $GREETING\'',
  );

  examples(
    runOptions(parent.command('create').description('create a container without starting it (prints its id)'), ctx)
      .argument('<image>', 'image to run')
      .argument('[command...]', 'command and arguments (default: the image\'s)')
      .passThroughOptions()
      .action(
        stackAction(
          ctx,
          ['images', 'tasks'],
          async (image: string, command: string[], o: RunCommandFlags) => (await import('../commands/run.js')).create(g(), image, command, o),
          checkRun,
        ),
      ),
    'berth create --name job busybox sh -c "echo done"',
    'berth start -a job',
  );

  examples(
    parent
      .command('start')
      .description('start one or more containers')
      .option('-a, --attach', 'attach stdout/stderr and forward signals')
      .option('-i, --interactive', 'attach stdin')
      .argument('<containers...>', 'container names or ids')
      .action(stackAction(ctx, ['tasks'], async (refs: string[], o) => (await containers()).start(g(), refs, o))),
    'berth start web',
    'berth start -a job',
  );

  const stopLike = (name: string, what: string, fn: 'stop' | 'restart') =>
    examples(
      parent
        .command(name)
        .description(what)
        .option('-t, --time <seconds>', 'seconds to wait before killing the container', arg((v) => parseInteger(v, -1)))
        .option('-s, --signal <signal>', 'signal to send first (default: the container\'s stop signal)')
        .argument('<containers...>', 'container names or ids')
        .action(stackAction(ctx, ['tasks'], async (refs: string[], o) => (await containers())[fn](g(), refs, o))),
      `berth ${name} web`,
      `berth ${name} -t 2 web worker`,
    );
  stopLike('stop', 'stop running containers (stop signal, then SIGKILL after the timeout)', 'stop');
  stopLike('restart', 'restart containers', 'restart');

  examples(
    parent
      .command('kill')
      .description('send a signal to running containers (SIGKILL by default)')
      .option('-s, --signal <signal>', 'signal name or number', 'SIGKILL')
      .argument('<containers...>', 'container names or ids')
      .action(stackAction(ctx, ['tasks'], async (refs: string[], o) => (await containers()).kill(g(), refs, o))),
    'berth kill web',
    'berth kill -s HUP web',
  );

  examples(
    parent
      .command('rm')
      .aliases(management ? ['remove'] : [])
      .description('remove containers')
      .option('-f, --force', 'kill and remove running containers')
      .option('-v, --volumes', 'accepted for compatibility (anonymous volumes go with the container)')
      .argument('<containers...>', 'container names or ids')
      .action(stackAction(ctx, ['tasks'], async (refs: string[], o) => (await containers()).remove(g(), refs, o))),
    'berth rm job',
    'berth rm -f web',
  );

  examples(
    parent
      .command(management ? 'ls' : 'ps')
      .aliases(management ? ['ps', 'list'] : [])
      .description('list containers')
      .option('-a, --all', 'show all containers (default: only running ones)')
      .option('-q, --quiet', 'only print container ids')
      .option('-f, --filter <key=value>', 'filter: id, name, label, status, ancestor, node, network, exited', collect, [])
      .option('--no-trunc', 'do not truncate ids and commands')
      .option('-l, --latest', 'show only the latest created container')
      .option('-n, --last <number>', 'show the n last created containers', arg((v) => parseInteger(v, 0)))
      .addOption(formatOption())
      .action(
        stackAction(
          ctx,
          ['tasks'],
          async (o) => (await import('../commands/ps.js')).ps(g(), { ...o, noTrunc: o.trunc === false }, formatOf(o)),
          (o) => void psFilters(parseFilters(o.filter, PS_FILTER_KEYS)),
        ),
      ),
    'berth ps',
    'berth ps -a --filter status=exited',
    'berth ps -aq',
    "berth ps -a --format '{{.Names}} {{.Status}}'",
    'berth ps --format json',
  );

  examples(
    parent
      .command('logs')
      .description('show a container\'s output')
      .option('-f, --follow', 'follow new output')
      .option('-n, --tail <lines>', 'number of lines from the end, or "all"', arg(checked(parseTail)), 'all')
      .option('--since <time>', 'only output since a time: 10m, 1h30m, RFC 3339, or Unix seconds', arg(checked(parseTimeFlag)))
      .option('--until <time>', 'only output before a time', arg(checked(parseTimeFlag)))
      .option('-t, --timestamps', 'show timestamps')
      .argument('<container>', 'container name or id')
      .action(stackAction(ctx, ['tasks'], async (ref: string, o) => (await import('../commands/logs.js')).logs(g(), ref, o))),
    'berth logs web',
    'berth logs -f --tail 10 web',
    'berth logs --since 10m -t web',
  );

  examples(
    parent
      .command('exec')
      .description('run a command in a running container')
      .option('-d, --detach', 'run in the background')
      .option('-i, --interactive', 'keep stdin open and attach it')
      .option('-t, --tty', 'allocate a pseudo terminal')
      .option('-e, --env <KEY=VALUE>', 'set an environment variable', collect, [])
      .option('--env-file <file>', 'read environment variables from a file', collect, [])
      .option('-w, --workdir <dir>', 'working directory')
      .option('-u, --user <user[:group]>', 'user to run as')
      .option('--privileged', 'give extended privileges to the command')
      .argument('<container>', 'container name or id')
      .argument('<command...>', 'command and arguments')
      .passThroughOptions()
      .action(stackAction(ctx, ['tasks'], async (ref: string, command: string[], o) => (await import('../commands/exec.js')).exec(g(), ref, command, o))),
    'berth exec web ls /',
    'berth exec -it web sh',
    'berth exec -e DEBUG=1 -w /tmp -u nobody web env',
  );

  examples(
    parent
      .command('inspect')
      .description(management ? 'show container details as JSON' : 'show details of containers, images or networks as JSON')
      .addOption(new Option('--type <type>', 'only look for this kind').choices(['container', 'image', 'network']))
      .option('-f, --format <format>', 'json, or a template such as \'{{.status.state}}\'', 'json')
      .argument('<names...>', management ? 'container names or ids' : 'names or ids')
      .action(
        stackAction(ctx, ['tasks'], async (refs: string[], o) =>
          management
            ? (await containers()).inspect(g(), refs, formatOf(o))
            : (await import('../commands/inspect.js')).inspect(g(), refs, o, formatOf(o)),
        ),
      ),
    `berth ${management ? 'container ' : ''}inspect web`,
    `berth ${management ? 'container ' : ''}inspect -f '{{.status.pid}}' web`,
  );

  examples(
    parent
      .command('wait')
      .description('block until containers stop, then print their exit codes')
      .argument('<containers...>', 'container names or ids')
      .action(stackAction(ctx, ['tasks'], async (refs: string[]) => (await containers()).wait(g(), refs))),
    'berth wait job',
  );

  for (const [name, what] of [
    ['pause', 'freeze every process of containers'],
    ['unpause', 'thaw paused containers'],
  ] as const) {
    examples(
      parent
        .command(name)
        .description(what)
        .argument('<containers...>', 'container names or ids')
        .action(stackAction(ctx, ['tasks'], async (refs: string[]) => (await containers())[name](g(), refs))),
      `berth ${name} web`,
    );
  }

  examples(
    parent
      .command('stats')
      .description('live resource usage of running containers')
      .option('--no-stream', 'print one sample and exit')
      .addOption(formatOption())
      .argument('[containers...]', 'container names or ids (default: all running)')
      .action(
        stackAction(ctx, ['tasks'], async (refs: string[], o) =>
          (await import('../commands/stats.js')).stats(g(), refs, { noStream: o.stream === false }, formatOf(o)),
        ),
      ),
    'berth stats',
    'berth stats --no-stream web',
  );

  examples(
    parent
      .command('top')
      .description('list the processes of a container')
      .addOption(formatOption())
      .argument('<container>', 'container name or id')
      .action(stackAction(ctx, ['tasks'], async (ref: string, o) => (await containers()).top(g(), ref, formatOf(o)))),
    'berth top web',
  );

  examples(
    parent
      .command('rename')
      .description('rename a container')
      .argument('<container>', 'container name or id')
      .argument('<new-name>', 'new name')
      .action(stackAction(ctx, ['tasks'], async (ref: string, name: string) => (await containers()).rename(g(), ref, name))),
    'berth rename web frontend',
  );

  if (management) {
    examples(
      parent
        .command('prune')
        .description('remove all stopped containers')
        .option('-f, --force', 'do not ask for confirmation')
        .option('--filter <label=...>', 'only containers with these labels', collect, [])
        .action(stackAction(ctx, ['tasks'], async (o) => (await containers()).prune(g(), o))),
      'berth container prune -f',
    );
  }
}

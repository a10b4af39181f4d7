// `completion bash|zsh`: a completion script generated from the command tree
// itself, so it never lags behind the commands. Container, image and network
// names are completed by asking berth (ps/images/network ls with --format,
// volume ls -q).
import type { CliIo } from '../stdio/io.js';
import type { Command } from 'commander';
import { UsageError } from '../output.js';

type ArgKind = 'containers' | 'images' | 'networks' | 'volumes';

const CONTAINER_COMMANDS = ['start', 'stop', 'restart', 'kill', 'rm', 'pause', 'unpause', 'wait', 'rename', 'top', 'logs', 'exec', 'inspect', 'stats', 'connect', 'disconnect'];
const IMAGE_COMMANDS = ['run', 'create', 'rmi', 'push', 'tag', 'save', 'history'];
const NETWORK_COMMANDS = ['network rm', 'network inspect', 'network connect', 'network disconnect'];
const VOLUME_COMMANDS = ['volume rm', 'volume remove', 'volume inspect'];

/** What the positional arguments of the command at path name. */
export function argKind(path: string): ArgKind | undefined {
  if (NETWORK_COMMANDS.includes(path)) return 'networks';
  if (VOLUME_COMMANDS.includes(path)) return 'volumes';
  const last = path.split(' ').pop() ?? '';
  if (path.startsWith('image ') && ['rm', 'push', 'tag', 'save', 'inspect'].includes(last)) return 'images';
  if (IMAGE_COMMANDS.includes(path) || path === 'container run' || path === 'container create') return 'images';
  if (CONTAINER_COMMANDS.includes(path) || (path.startsWith('container ') && CONTAINER_COMMANDS.includes(last))) return 'containers';
  return undefined;
}

interface Node {
  path: string;
  subcommands: string[];
  options: string[];
}

function walk(cmd: Command, path: string, out: Node[]): void {
  const visible = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  out.push({
    path,
    subcommands: visible.flatMap((c) => [c.name(), ...c.aliases()]),
    options: cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined)).concat('--help'),
  });
  for (const c of visible) {
    for (const name of [c.name(), ...c.aliases()]) walk(c, path ? `${path} ${name}` : name, out);
  }
}

const LISTERS: Record<ArgKind, string> = {
  containers: `berth ps -a --format '{{.Names}}' 2>/dev/null`,
  images: `berth images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null`,
  networks: `berth network ls --format '{{.Name}}' 2>/dev/null`,
  volumes: `berth volume ls -q 2>/dev/null`,
};

/** The bash completion script for a program. */
export function bashCompletion(program: Command): string {
  const nodes: Node[] = [];
  walk(program, '', nodes);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const subs = nodes.filter((n) => n.subcommands.length > 0).map((n) => `    ${q(n.path)}) echo ${q(n.subcommands.join(' '))} ;;`);
  const opts = nodes.map((n) => `    ${q(n.path)}) echo ${q(n.options.join(' '))} ;;`);
  const args = nodes
    .map((n) => ({ n, kind: argKind(n.path) }))
    .filter((x): x is { n: Node; kind: ArgKind } => x.kind !== undefined)
    .map(({ n, kind }) => `    ${q(n.path)}) ${LISTERS[kind]} ;;`);
  return `# bash completion for berth; load it with:  source <(berth completion bash)
_berth_subcommands() {
  case "$1" in
${subs.join('\n')}
  esac
}
_berth_options() {
  case "$1" in
${opts.join('\n')}
  esac
}
_berth_arguments() {
  case "$1" in
${args.join('\n')}
  esac
}
_berth() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" i w subs
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    subs=" $(_berth_subcommands "$path") "
    if [[ "$subs" == *" $w "* ]]; then path="\${path:+$path }$w"; fi
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_berth_options "$path")" -- "$cur"))
    return
  fi
  subs="$(_berth_subcommands "$path")"
  if [[ -n "$subs" ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_berth_arguments "$path")" -- "$cur"))
  fi
}
complete -o default -F _berth berth
`;
}

export function completion(io: CliIo, program: Command, shell: string): number {
  if (shell === 'bash') io.stdout.write(bashCompletion(program));
  else if (shell === 'zsh') {
    io.stdout.write(`# zsh completion for berth; load it with:  source <(berth completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bashCompletion(program)}`);
  } else throw new UsageError(`unsupported shell "${shell}": use bash or zsh`);
  return 0;
}

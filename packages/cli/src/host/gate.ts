// Which command lines the CLI host runs, and which it hands back to a berth
// process of the client's own. The host has no stdin or terminal of the
// client's, and it is part of the stack it would be asked to start or stop.
import type { Command } from 'commander';

/** Why a command runs in a berth process of its own, or undefined when the host may run it. Pure. */
export function localReason(path: readonly string[], opts: Record<string, unknown>): string | undefined {
  const [first] = path;
  const name = path[path.length - 1];
  if (first === 'system') return 'it manages the stack the host belongs to, under the environment of its caller';
  if (first === 'events') return 'it follows the bus until interrupted, with the caller\'s NATS settings';
  if (name === 'login' || name === 'logout') return 'it may prompt on the terminal';
  if (opts['interactive'] === true || opts['tty'] === true) return 'it needs the caller\'s stdin or terminal';
  if (name === 'load' && opts['input'] === undefined) return 'it reads the archive from stdin';
  if (name === 'prune' && opts['force'] !== true) return 'it asks for confirmation on stdin';
  const files = [opts['envFile'], opts['input'], opts['output']].flat().filter((f): f is string => typeof f === 'string');
  if (files.some((f) => /^\/(dev|proc)\//.test(f))) return 'it names a file of the caller\'s own process (/dev/..., /proc/...)';
  return undefined;
}

/** The names from the root to command, without the root's: ["container", "run"]. */
export function commandPath(command: Command): string[] {
  const path: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) path.unshift(c.name());
  return path;
}

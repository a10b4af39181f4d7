// Helpers for defining commands: lazy actions with berth's exit codes, flag
// parsers that report through commander, examples in --help, --format.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { requireSockets } from '../client/stack-check.js';
import { parseFormat, UsageError, type Format } from '../output.js';
import type { GlobalOptions, ServiceName } from '../stack-options.js';
import type { CliIo } from '../stdio/io.js';

export interface ProgramContext {
  /** The global flags (--runtime-dir, --namespace, --debug, ...). */
  globals(): GlobalOptions;
  /** The root command (completion walks it). */
  program: Command;
  /** The caller's stdio, environment and exit code. */
  io: CliIo;
}

/** Runs a command body and records its exit code. */
export const action =
  <A extends unknown[]>(ctx: ProgramContext, fn: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    ctx.io.exitCode = await fn(...args);
  };

/**
 * The body of a command that calls these services. Its flags are checked
 * first (`check`, for what commander's parsers cannot see), then the
 * services' sockets, and only then does the body import its modules (gRPC
 * and the API are most of berth's start-up time): a usage mistake is named
 * as such, and "the stack is not running" answers at once.
 */
export const stackAction = <A extends unknown[]>(
  ctx: ProgramContext,
  services: readonly ServiceName[],
  fn: (...args: A) => Promise<number>,
  check?: (...args: NoInfer<A>) => void | Promise<void>,
) =>
  action(ctx, async (...args: A) => {
    await check?.(...args);
    requireSockets(ctx.globals(), services);
    return fn(...args);
  });

/** Appends "Examples:" to a command's --help. */
export function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

export const formatOption = () =>
  new Option('--format <format>', 'output format: "table", "json" or a template such as \'{{.ID}}\'').default('table');

/** The --format of a command's options. */
export const formatOf = (o: { format?: string }): Format => parseFormat(o.format);

/** A flag parser whose UsageError becomes commander's "argument ... is invalid" error (exit 125). */
export function arg<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof UsageError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

/** A parser that only checks a value: the command receives the text as given. */
export const checked =
  (parse: (value: string) => unknown) =>
  (value: string): string => {
    parse(value);
    return value;
  };

/** A repeatable flag: each value parsed and collected in order. */
export function many<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  const one = arg(parse);
  return (value, previous) => [...(previous ?? []), one(value)];
}

/** A repeatable string flag. */
export const collect = many((v: string) => v);

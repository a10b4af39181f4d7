// Helpers for defining commands: lazy actions with berth's exit codes, flag
// parsers that report through commander, examples in --help, --format.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseFormat, UsageError, type Format } from '../output.js';
import type { GlobalOptions } from '../stack-options.js';

export interface ProgramContext {
  /** The global flags (--runtime-dir, --namespace, --debug, ...). */
  globals(): GlobalOptions;
  /** The root command (completion walks it). */
  program: Command;
}

/** Runs a command body and records its exit code. */
export const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    process.exitCode = await fn(...args);
  };

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

/** A repeatable flag: each value parsed and collected in order. */
export function many<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  const one = arg(parse);
  return (value, previous) => [...(previous ?? []), one(value)];
}

/** A repeatable string flag. */
export const collect = many((v: string) => v);

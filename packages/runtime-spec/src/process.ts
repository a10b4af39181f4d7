// The command line of a container and the process of an exec, Docker's way.
import { capabilitySet } from './capabilities.js';
import { checkEnv, mergeEnv } from './env.js';
import { SpecError } from './errors.js';
import { absolutePath } from './mounts.js';
import type { OciProcess } from './types.js';
import { withUser, type ResolvedUser } from './user.js';

/** The runtime part of an image config ("config"); Docker's nulls are accepted. */
export interface ImageDefaults {
  User?: string | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string | null;
  StopSignal?: string | null;
}

export interface CommandOptions {
  /** Replaces the image's Entrypoint ([] clears it); the image's Cmd is then dropped unless `cmd` is given. */
  entrypoint?: readonly string[] | undefined;
  /** Replaces the image's Cmd. */
  cmd?: readonly string[] | undefined;
}

function checkArgs(args: readonly unknown[], field: string): string[] {
  if (args.some((a) => typeof a !== 'string')) throw new SpecError(field, 'every argument must be a string');
  if (args.length === 0 || args[0] === '') throw new SpecError(field, 'no command given');
  return args as string[];
}

/** Entrypoint then cmd, with Docker's override rules; SpecError when there is no command at all. */
export function commandLine(image: ImageDefaults, opts: CommandOptions): string[] {
  const entrypoint = opts.entrypoint ?? image.Entrypoint ?? [];
  // An overridden entrypoint drops the image's cmd, as Docker does.
  const cmd = opts.cmd ?? (opts.entrypoint !== undefined ? [] : (image.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new SpecError('args', 'no command specified: the image has no entrypoint or command and none was given');
  return checkArgs(args, 'args');
}

export interface ExecProcessOptions {
  args: readonly string[];
  /** "KEY=VALUE" added to (or replacing) the container's; a bare "KEY" removes it. */
  env?: readonly string[];
  /** Absolute; default the container's. */
  cwd?: string;
  tty?: boolean;
  /** Every capability, whatever the container has (`docker exec --privileged`). */
  privileged?: boolean;
}

/** SpecError naming the first bad field of exec options. */
export function checkExecOptions(opts: ExecProcessOptions): void {
  if (!Array.isArray(opts.args)) throw new SpecError('args', 'must be a list of strings');
  checkArgs(opts.args, 'args');
  if (opts.cwd !== undefined && opts.cwd !== '') absolutePath(opts.cwd, 'cwd');
  checkEnv(opts.env ?? [], 'env');
}

/**
 * The process of an exec: the container's own (capabilities, rlimits,
 * no-new-privileges...) with the exec's args, env, cwd, terminal and, when
 * given, user (HOME follows it unless the environment sets HOME).
 */
export function buildExecProcess(base: OciProcess, opts: ExecProcessOptions, user?: ResolvedUser): OciProcess {
  checkExecOptions(opts);
  const caps = opts.privileged ? capabilitySet({ privileged: true }) : undefined;
  const process: OciProcess = {
    ...structuredClone(base),
    terminal: opts.tty === true,
    args: [...opts.args],
    env: mergeEnv(base.env ?? [], opts.env ?? []),
    cwd: opts.cwd || base.cwd,
    ...(caps ? { capabilities: { bounding: caps, effective: caps, permitted: caps } } : {}),
  };
  delete process.consoleSize;
  return user ? withUser(process, user) : process;
}

// The process.json of an exec session: the container's own process (caps,
// rlimits, no-new-privileges, apparmor...) with the exec's args, env, cwd,
// user and terminal, as `docker exec` does.
import { ContainerError } from '../errors.js';
import { mergeEnv } from '../spec/build-spec.js';
import { SpecError } from '../spec/errors.js';
import type { SpecProcess } from '../spec/types.js';
import type { ResolvedUser } from '../spec/user.js';

export interface ExecProcessOptions {
  args: string[];
  env?: string[];
  cwd?: string;
  tty?: boolean;
}

/** Checks exec options before anything is made; INVALID_ARGUMENT naming the bad field. */
export function checkExecOptions(opts: ExecProcessOptions): void {
  if (!Array.isArray(opts.args) || opts.args.length === 0 || opts.args.some((a) => typeof a !== 'string') || opts.args[0] === '') {
    throw new ContainerError('INVALID_ARGUMENT', 'exec: args must be a non-empty list of strings');
  }
  if (opts.cwd !== undefined && !opts.cwd.startsWith('/')) {
    throw new ContainerError('INVALID_ARGUMENT', `exec: cwd must be an absolute path, got ${JSON.stringify(opts.cwd)}`);
  }
  mergedEnv([], opts.env ?? []);
}

function mergedEnv(base: string[], extra: string[]): string[] {
  try {
    return mergeEnv(base, extra, 'exec env');
  } catch (err) {
    throw new ContainerError('INVALID_ARGUMENT', err instanceof SpecError ? err.message : String(err));
  }
}

export function buildExecProcess(base: SpecProcess, opts: ExecProcessOptions, user: ResolvedUser | undefined): SpecProcess {
  checkExecOptions(opts);
  const env = mergedEnv(base.env ?? [], opts.env ?? []);
  const process: SpecProcess = {
    ...base,
    terminal: opts.tty === true,
    args: [...opts.args],
    env,
    cwd: opts.cwd ?? base.cwd,
    user: user
      ? { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: [...user.additionalGids] } : {}) }
      : base.user,
  };
  delete process.consoleSize;
  return process;
}

/**
 * A caller-built exec process, checked the way buildExecProcess checks its
 * options; `terminal` follows `tty` (the stdio wiring decides, not the JSON).
 */
export function checkedExecProcess(process: SpecProcess, tty: boolean): SpecProcess {
  if (!process || typeof process !== 'object' || Array.isArray(process)) {
    throw new ContainerError('INVALID_ARGUMENT', 'exec: the process must be a JSON object (an OCI process)');
  }
  const args: unknown = process.args;
  if (!Array.isArray(args) || args.length === 0 || args.some((a) => typeof a !== 'string') || args[0] === '') {
    throw new ContainerError('INVALID_ARGUMENT', 'exec: process.args must be a non-empty list of strings');
  }
  if (typeof process.cwd !== 'string' || !process.cwd.startsWith('/')) {
    throw new ContainerError('INVALID_ARGUMENT', `exec: process.cwd must be an absolute path, got ${JSON.stringify(process.cwd)}`);
  }
  const user: unknown = process.user;
  if (typeof user !== 'object' || user === null || !Number.isInteger((user as { uid?: unknown }).uid) || !Number.isInteger((user as { gid?: unknown }).gid)) {
    throw new ContainerError('INVALID_ARGUMENT', `exec: process.user must have integer uid and gid, got ${JSON.stringify(user)}`);
  }
  const out: SpecProcess = { ...process, terminal: tty };
  delete out.consoleSize;
  return out;
}

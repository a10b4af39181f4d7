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

export function buildExecProcess(base: SpecProcess, opts: ExecProcessOptions, user: ResolvedUser | undefined): SpecProcess {
  if (!Array.isArray(opts.args) || opts.args.length === 0 || opts.args.some((a) => typeof a !== 'string') || opts.args[0] === '') {
    throw new ContainerError('INVALID_ARGUMENT', 'exec: args must be a non-empty list of strings');
  }
  if (opts.cwd !== undefined && !opts.cwd.startsWith('/')) {
    throw new ContainerError('INVALID_ARGUMENT', `exec: cwd must be an absolute path, got ${JSON.stringify(opts.cwd)}`);
  }
  let env: string[];
  try {
    env = mergeEnv(base.env ?? [], opts.env ?? [], 'exec env');
  } catch (err) {
    throw new ContainerError('INVALID_ARGUMENT', err instanceof SpecError ? err.message : String(err));
  }
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

// The process.json of an exec session: the container's own process with the
// exec's args, env, cwd, user and terminal, as `docker exec` does (built by
// @berth/runtime-spec), or a caller-built process checked before use.
import { buildExecProcess, SpecError, type OciProcess, type ResolvedUser } from '@berth/runtime-spec';
import { ContainerError } from '../errors.js';

export interface ExecProcessOptions {
  args: string[];
  env?: string[];
  cwd?: string;
  tty?: boolean;
}

/** A SpecError as the INVALID_ARGUMENT of an exec. */
function invalid<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SpecError) throw new ContainerError('INVALID_ARGUMENT', `exec: ${err.message}`);
    throw err;
  }
}

/** The exec's process from the container's (see buildExecProcess); INVALID_ARGUMENT naming a bad option. */
export function execProcessFrom(base: OciProcess, opts: ExecProcessOptions, user: ResolvedUser | undefined): OciProcess {
  return invalid(() => buildExecProcess(base, opts, user));
}

/**
 * A caller-built exec process, checked the way exec options are; `terminal`
 * follows `tty` (the stdio wiring decides, not the JSON).
 */
export function checkedExecProcess(process: OciProcess, tty: boolean): OciProcess {
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
  const env: unknown = process.env;
  if (env !== undefined && (!Array.isArray(env) || env.some((e) => typeof e !== 'string'))) {
    throw new ContainerError('INVALID_ARGUMENT', 'exec: process.env must be a list of strings');
  }
  const out: OciProcess = { ...process, env: (env as string[] | undefined) ?? [], terminal: tty };
  delete out.consoleSize;
  return out;
}

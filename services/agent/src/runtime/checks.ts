// Checks of create options and terminal sizes, so a bad request fails with a
// clear INVALID_ARGUMENT before anything is created.
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ContainerError, errnoCode } from '../errors.js';
import type { OciSpec } from '@berth/runtime-spec';
import type { CreateOptions } from './types.js';

export function validateCreateOptions(opts: CreateOptions): void {
  if (!opts || typeof opts !== 'object') throw new ContainerError('INVALID_ARGUMENT', 'create options are required');
  const spec = opts.spec;
  if (!spec || typeof spec !== 'object' || !spec.process || !Array.isArray(spec.process.args) || spec.process.args.length === 0) {
    throw new ContainerError('INVALID_ARGUMENT', 'spec.process.args is required');
  }
  if (opts.bundle !== undefined && !isAbsolute(opts.bundle)) {
    throw new ContainerError('INVALID_ARGUMENT', `bundle must be an absolute path, got ${JSON.stringify(opts.bundle)}`);
  }
  if (opts.logPath !== undefined && !isAbsolute(opts.logPath)) {
    throw new ContainerError('INVALID_ARGUMENT', `logPath must be an absolute path, got ${JSON.stringify(opts.logPath)}`);
  }
  if (opts.logMaxSize !== undefined && (!Number.isSafeInteger(opts.logMaxSize) || opts.logMaxSize < 0)) {
    throw new ContainerError('INVALID_ARGUMENT', `logMaxSize must be a byte count >= 0, got ${opts.logMaxSize}`);
  }
  if (opts.logMaxFiles !== undefined && (!Number.isInteger(opts.logMaxFiles) || opts.logMaxFiles < 1 || opts.logMaxFiles > 64)) {
    throw new ContainerError('INVALID_ARGUMENT', `logMaxFiles must be an integer from 1 to 64, got ${opts.logMaxFiles}`);
  }
  for (const c of opts.copyUps ?? []) {
    if (!isAbsolute(c.target) || !isAbsolute(c.path)) {
      throw new ContainerError('INVALID_ARGUMENT', `copy-up paths must be absolute, got path ${JSON.stringify(c.path)} and target ${JSON.stringify(c.target)}`);
    }
  }
  if (opts.stdinOnce === false && !opts.stdin) {
    throw new ContainerError('INVALID_ARGUMENT', 'stdinOnce only applies with stdin');
  }
}

export async function requireDirectory(path: string, what: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) return;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  throw new ContainerError('INVALID_ARGUMENT', `${what} ${path} is not a directory`);
}

/**
 * runc's error for a missing bind source is obscure; say it plainly before
 * creating anything. Checked here, on the node that mounts them.
 */
export async function checkBindSources(spec: OciSpec): Promise<void> {
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (!bind) continue;
    if (!m.source || !isAbsolute(m.source)) {
      throw new ContainerError('INVALID_ARGUMENT', `mounts[${i}] (${m.destination}): bind source must be an absolute path, got ${JSON.stringify(m.source)}`);
    }
    try {
      await stat(m.source);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new ContainerError('INVALID_ARGUMENT', `mounts[${i}] (${m.destination}): bind source ${m.source} does not exist`);
      }
      throw err;
    }
  }
}

export interface TerminalSize {
  height: number;
  width: number;
}

/** conmon's ctl line for a resize ("1 <rows> <columns>"); conmon refuses sizes over 1000. */
export function resizeMessage(size: TerminalSize, id: string): string {
  const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 1000;
  if (!size || !ok(size.height) || !ok(size.width)) {
    throw new ContainerError('INVALID_ARGUMENT', `terminal size must be 1..1000 rows and columns, got ${JSON.stringify(size)}`, { containerId: id });
  }
  return `1 ${size.height} ${size.width}\n`;
}

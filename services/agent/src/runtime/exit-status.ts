// Exit statuses. conmon writes the exit code (128+n for a signal death, like
// Docker) to --persist-dir/exit and --exit-dir/<id> when the container ends,
// whether or not the agent is alive; an OOM kill leaves --persist-dir/oom.
// The agent then seals what it read into exit.json (temp file, fsync, rename,
// fsync dir), because glib's write of conmon's file is not fsynced.
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomicAsync } from '@berth/store';
import { errnoCode } from '../errors.js';
import { signalName } from './signals.js';

export interface ExitStatus {
  /** Exit code; 128+n when the process died of signal n. */
  exitCode: number;
  /** The signal's name when exitCode is 129..192 (as Docker reads it). */
  signal?: string;
  /** The kernel OOM killer killed a process of the container. */
  oomKilled: boolean;
  /** When conmon recorded the exit (ISO 8601). */
  exitedAt: string;
  /** Why the process never ran, when it failed to start (e.g. command not found). */
  error?: string;
}

export function exitStatusFromCode(exitCode: number, oomKilled: boolean, exitedAt: Date, error?: string): ExitStatus {
  const status: ExitStatus = { exitCode, oomKilled, exitedAt: exitedAt.toISOString() };
  if (exitCode > 128 && exitCode <= 128 + 64) status.signal = signalName(exitCode - 128);
  if (error !== undefined) status.error = error;
  return status;
}

/** Parses conmon's exit file content ("137"); undefined for anything else (e.g. a half-written file). */
export function parseExitFile(text: string): number | undefined {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : undefined;
}

async function readIfExists(path: string): Promise<{ text: string; mtime: Date } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtime: st.mtime };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Reads the exit status conmon left in any of `files` (first readable wins). */
export async function readConmonExit(files: readonly string[], oomFile: string | undefined): Promise<ExitStatus | undefined> {
  for (const file of files) {
    const found = await readIfExists(file);
    if (!found) continue;
    const code = parseExitFile(found.text);
    if (code === undefined) continue;
    const oom = oomFile !== undefined && (await exists(oomFile));
    return exitStatusFromCode(code, oom, found.mtime);
  }
  return undefined;
}

export async function readSealedExit(path: string): Promise<ExitStatus | undefined> {
  const found = await readIfExists(path);
  if (!found) return undefined;
  const parsed = JSON.parse(found.text) as ExitStatus;
  if (typeof parsed.exitCode !== 'number') throw new Error(`sealed exit status ${path} has no exitCode`);
  return parsed;
}

/**
 * Seals an exit read from conmon's files. Readers need not wait for it: until
 * it is sealed, conmon's file (whose mtime is the exit time) gives the same
 * status again.
 */
export function sealExit(path: string, status: ExitStatus): Promise<void> {
  return writeFileAtomicAsync(path, `${JSON.stringify(status)}\n`, 0o600);
}

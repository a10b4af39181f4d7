// Exit statuses. conmon writes the exit code (128+n for a signal death, like
// Docker) to --persist-dir/exit and --exit-dir/<id> when the container ends,
// whether or not the agent is alive; an OOM kill leaves --persist-dir/oom.
// The agent then seals what it read into exit.json (temp file, fsync, rename,
// fsync dir), because glib's write of conmon's file is not fsynced.
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
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

// The exit files are a few bytes on a local disk: read synchronously, so an
// exit is reported in the event-loop turn that noticed it instead of after a
// chain of threadpool round trips.
function readIfExists(path: string): { text: string; mtime: Date } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    // One descriptor for both, so the time and the content are of the same file.
    return { mtime: fstatSync(fd).mtime, text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** Reads the exit status conmon left in any of `files` (first readable wins). */
export function readConmonExit(files: readonly string[], oomFile: string | undefined): ExitStatus | undefined {
  for (const file of files) {
    const found = readIfExists(file);
    if (!found) continue;
    const code = parseExitFile(found.text);
    if (code === undefined) continue;
    const oom = oomFile !== undefined && existsSync(oomFile);
    return exitStatusFromCode(code, oom, found.mtime);
  }
  return undefined;
}

export function readSealedExit(path: string): ExitStatus | undefined {
  const found = readIfExists(path);
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

/**
 * How long a seal waits before it starts: its fsyncs then do not compete for
 * the disk's journal with the commit that records the exit downstream (the
 * tasks service's, on the same disk), and until it is done conmon's file
 * holds the same status.
 */
const SEAL_DELAY_MS = 50;

/** Seals scheduled or in flight, by path: every reader of a fresh exit asks for the seal, one is enough. */
const seals = new Map<string, { timer: NodeJS.Timeout | undefined; running: Promise<void> | undefined }>();

/**
 * Seals an exit off the reporting path: a little later, with the fsyncs in
 * the threadpool, and nothing waits for it. `onError` hears of a failure
 * (conmon's file still holds the status, and the next read seals again).
 */
export function sealInBackground(path: string, status: ExitStatus, onError: (err: unknown) => void): void {
  if (seals.has(path)) return;
  const seal: { timer: NodeJS.Timeout | undefined; running: Promise<void> | undefined } = { timer: undefined, running: undefined };
  seal.timer = setTimeout(() => {
    seal.timer = undefined;
    seal.running = sealExit(path, status)
      .catch(onError)
      .finally(() => seals.delete(path));
  }, SEAL_DELAY_MS);
  // A stopping agent does not wait for it: the next start reads conmon's file and seals.
  seal.timer.unref();
  seals.set(path, seal);
}

/**
 * Before the seal's directory is removed: drops a seal not started yet and
 * waits for one in flight, so none writes into a removed (or re-created) dir.
 */
export function cancelSeal(path: string): Promise<void> {
  const seal = seals.get(path);
  if (!seal) return Promise.resolve();
  if (seal.timer) {
    clearTimeout(seal.timer);
    seals.delete(path);
    return Promise.resolve();
  }
  return seal.running ?? Promise.resolve();
}

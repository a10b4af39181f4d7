// Log rotation. conmon's own --log-size-max is not rotation: when its byte
// counter passes the limit it replaces the log with an empty file, dropping
// everything written so far, and the counter is private to conmon (a reopen
// does not reset it), so it cannot be combined with rotation by someone else.
// berth therefore leaves conmon's limit off and rotates itself:
//   1. shift <log>.N-2 -> <log>.N-1, ..., <log> -> <log>.1 (renames only);
//   2. send conmon "2 0 0\n" (REOPEN_LOGS) on <bundle>/ctl: it fsyncs, closes
//      the old file (which it kept writing to under its new name, so nothing
//      is lost between 1 and 2) and creates a fresh <log>.
// While the agent is down nobody rotates, so a log can outgrow its limit
// until the agent is back; it is never truncated.
import { constants, open, rename, rm, stat } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

export function rotatedName(logPath: string, n: number): string {
  return n === 0 ? logPath : `${logPath}.${n}`;
}

/** The log files of a container, oldest first, that exist. */
export async function existingLogFiles(logPath: string, maxFiles = 64): Promise<string[]> {
  const files: string[] = [];
  for (let n = maxFiles - 1; n >= 0; n--) {
    const f = rotatedName(logPath, n);
    try {
      await stat(f);
      files.push(f);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return files;
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * Shifts the files so <log> becomes <log>.1 (always kept, even for maxFiles 1,
 * so the monitor can finish writing to it; rotateIfNeeded drops it after).
 */
export async function shiftLogFiles(logPath: string, maxFiles: number): Promise<void> {
  if (!Number.isInteger(maxFiles) || maxFiles < 1) throw new Error(`maxFiles must be an integer >= 1, got ${maxFiles}`);
  const keep = Math.max(maxFiles, 2);
  await rm(rotatedName(logPath, keep - 1), { force: true });
  for (let n = keep - 2; n >= 0; n--) await renameIfExists(rotatedName(logPath, n), rotatedName(logPath, n + 1));
}

/**
 * Writes one control line to conmon's ctl fifo without blocking.
 * Returns false when no conmon reads it (the container's monitor is gone).
 */
export async function writeControl(ctlPath: string, line: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENXIO' || code === 'ENOENT') return false;
    throw err;
  }
  try {
    await handle.write(line);
    return true;
  } finally {
    await handle.close();
  }
}

export const REOPEN_LOGS = '2 0 0\n';

export interface RotateResult {
  rotated: boolean;
  size: number;
}

/** Rotates `logPath` if it holds at least `maxSize` bytes (maxSize 0: never). */
export async function rotateIfNeeded(logPath: string, ctlPath: string, maxSize: number, maxFiles: number): Promise<RotateResult> {
  let size: number;
  try {
    size = (await stat(logPath)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { rotated: false, size: 0 };
    throw err;
  }
  if (maxSize <= 0 || size < maxSize) return { rotated: false, size };
  await shiftLogFiles(logPath, maxFiles);
  await writeControl(ctlPath, REOPEN_LOGS);
  if (maxFiles === 1) await rm(rotatedName(logPath, 1), { force: true });
  return { rotated: true, size };
}

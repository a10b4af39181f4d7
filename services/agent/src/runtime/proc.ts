// Process checks through /proc, with an identity check so a recycled pid is
// never mistaken for a container's monitor.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

const parsePid = (text: string): number | undefined => {
  const t = text.trim();
  return /^\d+$/.test(t) && Number(t) > 0 ? Number(t) : undefined;
};

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    return parsePid(await readFile(path, 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** readPidFile for the exit report: a few bytes, read without a trip through the busy threadpool. */
export function readPidFileSync(path: string): number | undefined {
  try {
    return parsePid(readFileSync(path, 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function readProc(pid: number, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
}

/** True when `pid` is a live (not zombie) conmon started for this cuuid. */
export async function isMonitorAlive(pid: number | undefined, cuuid: string): Promise<boolean> {
  if (pid === undefined) return false;
  const [cmdline, stat] = await Promise.all([readProc(pid, 'cmdline'), readProc(pid, 'stat')]);
  if (cmdline === undefined || stat === undefined) return false;
  // The state field follows the parenthesised command name.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  const argv = cmdline.split('\0');
  const exe = argv[0] ?? '';
  if (!exe.endsWith('conmon')) return false;
  const i = argv.indexOf('-u');
  return i >= 0 && argv[i + 1] === cuuid;
}

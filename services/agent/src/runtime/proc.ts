// Process checks through /proc, with an identity check so a recycled pid is
// never mistaken for a container's monitor.
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
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

// Process checks through /proc, with an identity check so a recycled pid is
// never mistaken for a container's monitor.
import { readFileSync } from 'node:fs';
import { errnoCode } from '../errors.js';

const parsePid = (text: string): number | undefined => {
  const t = text.trim();
  return /^\d+$/.test(t) && Number(t) > 0 ? Number(t) : undefined;
};

// Pid files and procfs entries are a few bytes, read on every state check:
// synchronously, as a trip through libuv's busy threadpool costs more than the read.

export async function readPidFile(path: string): Promise<number | undefined> {
  return readPidFileSync(path);
}

export function readPidFileSync(path: string): number | undefined {
  try {
    return parsePid(readFileSync(path, 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
}

/** True when `pid` is a live (not zombie) conmon started for this cuuid. */
export async function isMonitorAlive(pid: number | undefined, cuuid: string): Promise<boolean> {
  if (pid === undefined) return false;
  const cmdline = readProc(pid, 'cmdline');
  const stat = readProc(pid, 'stat');
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

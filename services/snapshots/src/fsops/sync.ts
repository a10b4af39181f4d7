import { spawn } from 'node:child_process';

/**
 * syncfs(2) on the filesystem holding path (coreutils `sync -f`): a layer's
 * files are durable before the commit that makes them visible, so a power
 * loss cannot leave a committed snapshot with missing data.
 */
export function syncFilesystem(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sync', ['-f', '--', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`sync -f ${path}: ${err.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sync -f ${path} failed (exit ${code}): ${stderr.trim()}`))));
  });
}

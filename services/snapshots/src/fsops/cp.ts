import { spawn } from 'node:child_process';

/**
 * Copies with GNU cp -a: ownership, modes, timestamps, hardlinks, device
 * nodes, fifos and all xattrs (trusted.* as root), reflinks where the
 * filesystem has them. With `into`, src's content goes into the existing
 * directory dst (-T); otherwise dst must not exist.
 */
export function copyPreserving(src: string, dst: string, opts: { into?: boolean } = {}): Promise<void> {
  const args = ['-a', '--reflink=auto', ...(opts.into ? ['-T'] : []), '--', src, dst];
  return new Promise((resolve, reject) => {
    const child = spawn('cp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', (err) => reject(new Error(`cp ${src} ${dst}: ${err.message}`)));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`copying ${src} to ${dst} failed (cp exit ${code}): ${stderr.trim()}`)),
    );
  });
}

// Unmounting whatever is left under a directory before it is removed, so a
// failed test (or an interrupted debootstrap with /proc mounted) never makes
// `rm -r` walk into a mounted filesystem.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { requireBinary, run } from './process.js';

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const root = resolve(dir);
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMountPath)
    .filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything under dir (lazily if busy); throws listing what stayed mounted. */
export async function unmountAll(dir: string): Promise<void> {
  const points = mountsUnder(dir);
  if (points.length === 0) return;
  const umount = requireBinary('umount', 'util-linux');
  for (const p of points) {
    try {
      await run(umount, [p]);
    } catch {
      await run(umount, ['--lazy', p]).catch(() => undefined);
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`could not unmount under ${dir}: ${left.join(', ')}`);
}

/** rm -rf that first unmounts anything mounted inside. */
export async function removeTree(dir: string): Promise<void> {
  await unmountAll(dir);
  await rm(dir, { recursive: true, force: true });
}

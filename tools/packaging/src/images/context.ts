// The Docker build context: the repository's sources without what a build
// makes or installs (node_modules, dist, caches), so it is small and the
// image build does not depend on the state of the working tree's outputs.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Names never copied into a build context, at any depth. */
export const CONTEXT_EXCLUDES = new Set(['node_modules', 'dist', '.git', '.nx', '.vite', 'coverage', '.berth-test']);

export const includedInContext = (path: string): boolean => {
  const name = basename(path);
  return !CONTEXT_EXCLUDES.has(name) && !name.endsWith('.tsbuildinfo');
};

/** Copies the repository at `repoRoot` into `dest` (created) minus the excluded names. */
export function stageContext(repoRoot: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const name of readdirSync(repoRoot)) {
    const src = join(repoRoot, name);
    if (!includedInContext(src)) continue;
    cpSync(src, join(dest, name), { recursive: true, verbatimSymlinks: true, filter: includedInContext });
  }
}

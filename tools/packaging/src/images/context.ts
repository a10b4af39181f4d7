// The Docker build context: the repository minus what the root .dockerignore
// leaves out (node_modules, dist, caches, test state), so a staged context
// and `docker build .` from the repository send the same files, and the
// image build never depends on the working tree's installs or outputs.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isIgnored, parseDockerignore, type IgnoreRule } from './dockerignore.js';

/** The rules of `<repoRoot>/.dockerignore`; a repository without one is refused (its context would hold every install). */
export function contextRules(repoRoot: string): IgnoreRule[] {
  const file = join(repoRoot, '.dockerignore');
  if (!existsSync(file)) throw new Error(`${file} is missing: it says what the build context leaves out (node_modules, dist, ...)`);
  return parseDockerignore(readFileSync(file, 'utf8'));
}

/** Copies the repository at `repoRoot` into `dest` (created), minus what its .dockerignore excludes. */
export function stageContext(repoRoot: string, dest: string): void {
  const rules = contextRules(repoRoot);
  // An exception (`!x`) may bring back something below an excluded directory, which must then be looked into.
  const lookIntoExcluded = rules.some((r) => r.exception);
  mkdirSync(dest, { recursive: true });
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(repoRoot, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const excluded = isIgnored(rules, path);
      if (entry.isDirectory()) {
        if (excluded && !lookIntoExcluded) continue;
        if (!excluded) mkdirSync(join(dest, path), { recursive: true });
        walk(path);
      } else if (!excluded) {
        mkdirSync(dirname(join(dest, path)), { recursive: true });
        cpSync(join(repoRoot, path), join(dest, path), { verbatimSymlinks: true });
      }
    }
  };
  walk('');
}

// The production dependency closure of one workspace package, resolved the
// way Node resolves it in the installed tree, and where each package goes in
// a bundle whose node_modules mirrors that tree: hoisted packages stay hoisted,
// nested ones stay nested, and workspace packages become real directories
// under node_modules/<name>. Mirroring the layout keeps every resolution the
// same as in the build tree, so the compiled native addons and the exact
// versions the lockfile chose are what the image runs.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { readManifest, workspacePackages, type PackageManifest } from '../workspace.js';

export interface BundledPackage {
  name: string;
  version: string;
  /** Real directory in the build tree. */
  source: string;
  /** Directory inside the bundle, e.g. "node_modules/@berth/api". */
  target: string;
  /** Workspace packages ship their manifest, dist/ and bin only (see workspaceOutputs); others ship whole. */
  kind: 'workspace' | 'registry';
}

const isInside = (dir: string, path: string) => path === dir || path.startsWith(dir + sep);

/** Finds `name` from `fromDir` the way Node does (node_modules of each ancestor, up to the root). */
export function resolvePackageDir(name: string, fromDir: string, repoRoot: string): string | undefined {
  for (let dir = fromDir; isInside(repoRoot, dir); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === repoRoot) break;
  }
  return undefined;
}

interface Dep {
  name: string;
  required: boolean;
}

/** What a package needs at run time: dependencies (required), optional and peer dependencies (if installed). */
export function runtimeDeps(m: PackageManifest): Dep[] {
  const deps = new Map<string, boolean>();
  for (const name of Object.keys(m.peerDependencies ?? {})) deps.set(name, false);
  for (const name of Object.keys(m.optionalDependencies ?? {})) deps.set(name, false);
  for (const name of Object.keys(m.dependencies ?? {})) deps.set(name, !(name in (m.optionalDependencies ?? {})));
  return [...deps].map(([name, required]) => ({ name, required })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The bundle location of a resolved package directory. A package installed
 * under <root>/node_modules keeps its path; one under a workspace's own
 * node_modules goes under that workspace's bundle directory.
 */
function targetOf(source: string, repoRoot: string, workspaces: Map<string, string>): string {
  const ws = workspaces.get(source);
  if (ws) return join('node_modules', ws);
  const rel = relative(repoRoot, source).split(sep);
  const first = rel.indexOf('node_modules');
  if (first < 0) throw new Error(`${source} is neither a workspace package nor inside a node_modules directory`);
  const owner = rel.slice(0, first).join(sep);
  const rest = rel.slice(first).join(sep);
  if (owner === '') return rest;
  const ownerName = workspaces.get(join(repoRoot, owner));
  if (!ownerName) throw new Error(`${source} is installed under ${owner}, which is not a workspace package`);
  return join('node_modules', ownerName, rest);
}

/**
 * Every package the workspace package at `workspaceDir` (relative to the
 * root) needs at run time, itself included, in a stable order. Throws when a
 * required dependency is not installed, naming who needs it.
 */
export function productionClosure(repoRoot: string, workspaceDir: string): BundledPackage[] {
  const workspaces = new Map(workspacePackages(repoRoot).map((p) => [realpathSync(join(repoRoot, p.dir)), p.name]));
  const start = realpathSync(join(repoRoot, workspaceDir));
  if (!workspaces.has(start)) throw new Error(`${workspaceDir} is not a workspace package of ${repoRoot}`);

  const found = new Map<string, BundledPackage>();
  const byTarget = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const source = queue.shift()!;
    if (found.has(source)) continue;
    const manifest = readManifest(source);
    const target = targetOf(source, repoRoot, workspaces);
    const clash = byTarget.get(target);
    if (clash) throw new Error(`${source} and ${clash} would both be bundled at ${target}`);
    byTarget.set(target, source);
    found.set(source, {
      name: manifest.name,
      version: manifest.version ?? '0.0.0',
      source,
      target,
      kind: workspaces.has(source) ? 'workspace' : 'registry',
    });
    for (const dep of runtimeDeps(manifest)) {
      const dir = resolvePackageDir(dep.name, source, repoRoot);
      if (dir) queue.push(dir);
      else if (dep.required) {
        throw new Error(`${manifest.name} (${relative(repoRoot, source)}) depends on ${dep.name}, which is not installed`);
      }
    }
  }
  return [...found.values()].sort((a, b) => a.target.localeCompare(b.target));
}


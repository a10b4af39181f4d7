// The npm workspace as the packaging sees it: the root manifest, every
// workspace package (directory, name, version, manifest) and the services.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageManifest {
  name: string;
  version?: string;
  private?: boolean;
  main?: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

export interface WorkspacePackage {
  /** Directory relative to the repository root, e.g. "services/images". */
  dir: string;
  name: string;
  version: string;
  manifest: PackageManifest;
}

export function readManifest(dir: string): PackageManifest {
  const file = join(dir, 'package.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { name?: unknown }).name !== 'string') {
    throw new Error(`${file} has no "name"`);
  }
  return parsed as PackageManifest;
}

/** The repository root: the nearest ancestor of this module whose package.json declares workspaces. */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && Array.isArray(readManifest(dir).workspaces)) return dir;
    if (dirname(dir) === dir) throw new Error(`no npm workspace root above ${from}`);
  }
}

/** Expands the root's "workspaces" globs (only the "dir/*" form npm projects here use). */
export function workspacePackages(repoRoot: string): WorkspacePackage[] {
  const globs = readManifest(repoRoot).workspaces ?? [];
  const out: WorkspacePackage[] = [];
  for (const glob of globs) {
    const m = /^([^*]+)\/\*$/.exec(glob);
    if (!m) throw new Error(`workspace pattern ${JSON.stringify(glob)} is not of the form "dir/*"`);
    const parent = join(repoRoot, m[1]!);
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent).sort()) {
      const dir = join(parent, entry);
      if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'package.json'))) continue;
      const manifest = readManifest(dir);
      out.push({ dir: relative(repoRoot, dir), name: manifest.name, version: manifest.version ?? '0.0.0', manifest });
    }
  }
  return out;
}

/** The berth services: every directory under services/ (each must be a workspace package). */
export function serviceNames(repoRoot: string): string[] {
  const dir = join(repoRoot, 'services');
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort();
}

/** The workspace package of a service directory; throws naming the directory when it is not one. */
export function servicePackage(repoRoot: string, service: string): WorkspacePackage {
  const pkg = workspacePackages(repoRoot).find((p) => p.dir === join('services', service));
  if (!pkg) throw new Error(`services/${service} is not a workspace package (no package.json?)`);
  return pkg;
}

/** The file a package's single bin (or its only bin entry) runs, relative to the package. */
export function binEntry(manifest: PackageManifest): string {
  const bin = manifest.bin;
  if (typeof bin === 'string') return bin.replace(/^\.\//, '');
  const entries = Object.values(bin ?? {});
  if (entries.length !== 1) throw new Error(`${manifest.name} must declare exactly one "bin" (has ${entries.length})`);
  return entries[0]!.replace(/^\.\//, '');
}

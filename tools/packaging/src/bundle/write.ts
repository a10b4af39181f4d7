// Writes a bundle: the production closure of one workspace package laid out
// under <out>/node_modules (workspace packages as their manifest, dist/ and
// bin directory), the health probe under <out>/bin, and a
// bundle.json saying what is inside and which file to run.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { binEntry, readManifest, type PackageManifest } from '../workspace.js';
import { productionClosure, type BundledPackage } from './closure.js';

export interface BundleManifest {
  name: string;
  version: string;
  /** The file to run, relative to the bundle root. */
  entry: string;
  /** The gRPC health probe, relative to the bundle root. */
  healthProbe: string;
  packages: { name: string; version: string; target: string }[];
}

export const HEALTH_PROBE_PATH = 'bin/berth-health.mjs';

/** The compiled probe, dist/health-probe.js of this package (from src/bundle or dist/bundle alike). */
function healthProbeSource(): string {
  const file = new URL('../../dist/health-probe.js', import.meta.url);
  if (!existsSync(file)) throw new Error(`${file.pathname} is missing: build @berth/packaging first`);
  return readFileSync(file, 'utf8');
}

/**
 * What a workspace package ships besides its manifest: dist/, and what holds
 * each bin outside it (the CLI runs from its esbuild bundle/). Directories end
 * in "/". Pure.
 */
export function workspaceOutputs(manifest: PackageManifest): string[] {
  const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
  const tops = bins.map((bin) => /^(?:\.\/)?([^/]+\/?)/.exec(bin)?.[1] ?? bin);
  return [...new Set(['dist/', ...tops])];
}

function copyPackage(pkg: BundledPackage, out: string): void {
  const dest = join(out, pkg.target);
  mkdirSync(dest, { recursive: true });
  if (pkg.kind === 'workspace') {
    const outputs = workspaceOutputs(readManifest(pkg.source)).map((name) => ({ name, path: join(pkg.source, name.replace(/\/$/, '')) }));
    for (const { name, path } of outputs) {
      if (!existsSync(path) || statSync(path).isDirectory() !== name.endsWith('/')) throw new Error(`${pkg.name} has no ${name} at ${path}: build it first`);
    }
    cpSync(join(pkg.source, 'package.json'), join(dest, 'package.json'));
    for (const { name, path } of outputs) {
      cpSync(path, join(dest, name), { recursive: true, verbatimSymlinks: true, filter: (src) => !DEV_ONLY_FILE.test(src) });
    }
    return;
  }
  const nested = join(pkg.source, 'node_modules');
  const native = existsSync(join(pkg.source, 'binding.gyp'));
  cpSync(pkg.source, dest, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => src !== nested && !src.startsWith(nested + sep) && shipsAtRuntime(relative(pkg.source, src), native),
  });
}

const DEV_ONLY_FILE = /\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo)$/;

/**
 * Whether a file of a registry package (path relative to it) is needed at
 * run time. Left out: its own node_modules (what is needed from there is in
 * the closure and lands at the same place), source maps and type
 * declarations, and of a native addon its C/C++ sources and everything its
 * build left besides the compiled .node files. Pure.
 */
export function shipsAtRuntime(rel: string, nativeAddon: boolean): boolean {
  if (rel === '') return true;
  if (DEV_ONLY_FILE.test(rel)) return false;
  if (!nativeAddon) return true;
  const [top, second] = rel.split(sep);
  if (top === 'deps' || top === 'src') return false;
  if (top !== 'build') return true;
  if (second === undefined) return true;
  if (second !== 'Release') return false;
  return rel === join('build', 'Release') || (rel.split(sep).length === 3 && rel.endsWith('.node'));
}

/** Bundles the workspace package at `workspaceDir` into `out` (which is replaced). */
export function writeBundle(repoRoot: string, workspaceDir: string, out: string): BundleManifest {
  const closure = productionClosure(repoRoot, workspaceDir);
  const selfDir = realpathSync(join(repoRoot, workspaceDir));
  const self = closure.find((p) => p.source === selfDir);
  if (!self) throw new Error(`${workspaceDir} is missing from its own closure`);
  const manifest = readManifest(self.source);
  const entry = join(self.target, binEntry(manifest));

  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'bin'), { recursive: true });
  for (const pkg of closure) copyPackage(pkg, out);
  if (!existsSync(join(out, entry))) throw new Error(`${manifest.name}'s bin ${binEntry(manifest)} was not built`);
  writeFileSync(join(out, HEALTH_PROBE_PATH), healthProbeSource(), { mode: 0o755 });

  const result: BundleManifest = {
    name: manifest.name,
    version: manifest.version ?? '0.0.0',
    entry,
    healthProbe: HEALTH_PROBE_PATH,
    packages: closure.map(({ name, version, target }) => ({ name, version, target })),
  };
  writeFileSync(join(out, 'bundle.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

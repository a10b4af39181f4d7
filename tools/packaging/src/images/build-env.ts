// The offline build image: the base image plus the workspace's installed
// node_modules from the host (which already hold native addons compiled for
// this Node and glibc), under /src, with a marker naming the lockfile they
// were installed from. The Dockerfile's build stage skips `npm ci` when the
// marker matches the context's package-lock.json.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '@berth/testkit';
import type { DockerCli } from '../docker/cli.js';
import { workspacePackages } from '../workspace.js';

export const DEPS_MARKER = 'node_modules/.berth-deps-lock.sha256';

/** node_modules directories of the install: the root's and each workspace's own (tool caches left out). */
export function installedModuleDirs(repoRoot: string): string[] {
  const dirs = ['node_modules'];
  for (const ws of workspacePackages(repoRoot)) {
    const nm = join(ws.dir, 'node_modules');
    const entries = existsSync(join(repoRoot, nm)) ? readdirSync(join(repoRoot, nm)).filter((n) => !n.startsWith('.')) : [];
    if (entries.length > 0) dirs.push(nm);
  }
  if (!existsSync(join(repoRoot, 'node_modules'))) throw new Error(`${repoRoot} has no node_modules: run npm ci first`);
  return dirs;
}

export function lockDigest(repoRoot: string): string {
  return createHash('sha256').update(readFileSync(join(repoRoot, 'package-lock.json'))).digest('hex');
}

/** Builds `tag` = FROM baseTag + the host's node_modules under /src; returns the helper image tags made on the way. */
export async function buildEnvImage(docker: DockerCli, repoRoot: string, baseTag: string, tag: string): Promise<string[]> {
  const digest = lockDigest(repoRoot);
  const depsTag = `berth-build/deps:${digest.slice(0, 12)}`;
  const markerDir = mkdtempSync(join(tmpdir(), 'berth-deps-marker-'));
  try {
    writeFileSync(join(markerDir, '.berth-deps-lock.sha256'), `${digest}  package-lock.json\n`);
    const tar = requireBinary('tar');
    const args = [
      '-c',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--exclude=.vite',
      '--exclude=.cache',
      '-C',
      repoRoot,
      ...installedModuleDirs(repoRoot),
      // the marker goes into node_modules/ of the image
      `--transform=s,^\\.berth-deps-lock,node_modules/.berth-deps-lock,`,
      '-C',
      markerDir,
      '.berth-deps-lock.sha256',
    ];
    await docker.importFrom({ file: tar, args }, depsTag);
  } finally {
    rmSync(markerDir, { recursive: true, force: true });
  }
  await docker.build({ tag, dockerfileText: `FROM ${baseTag}\nCOPY --from=${depsTag} / /src/\nWORKDIR /src\n` });
  return [depsTag];
}

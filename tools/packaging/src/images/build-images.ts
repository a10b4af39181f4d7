// Builds every berth image offline on one Docker engine: the Node base images
// from the host (cached), the build image with the host's node_modules, then
// each target of deploy/docker/Dockerfile on a staged context.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DockerCli } from '../docker/cli.js';
import { readManifest, serviceNames } from '../workspace.js';
import { importBaseImage, nodeBaseTar, RUNTIME_TOOLS_PACKAGES } from './base-image.js';
import { buildEnvImage } from './build-env.js';
import { stageContext } from './context.js';

export const DOCKERFILE = 'deploy/docker/Dockerfile';

/** Image targets of the Dockerfile: one per service, and the CLI. */
export const imageTargets = (repoRoot: string): string[] => [...serviceNames(repoRoot), 'cli'];

export interface OfflineBuildOptions {
  repoRoot: string;
  /** Image repository prefix; images are <repository>/<target>:<version>. Default "berth". */
  repository?: string;
  /** Default: the root package.json version. */
  version?: string;
  /** Default: `git rev-parse HEAD`, else "unknown". */
  revision?: string;
  /** Default: the "origin" remote's URL, else empty. */
  source?: string;
  /** Default: every target. */
  targets?: string[];
  /** Called as each step finishes (for progress output). */
  onStep?: (step: string) => void;
}

export interface OfflineBuild {
  /** target -> image reference */
  images: Record<string, string>;
  /** Base, dependency and build images made on the way. */
  helpers: string[];
  version: string;
  revision: string;
  source: string;
}

function git(repoRoot: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function buildOfflineImages(docker: DockerCli, opts: OfflineBuildOptions): Promise<OfflineBuild> {
  const { repoRoot } = opts;
  const step = opts.onStep ?? (() => undefined);
  const repository = opts.repository ?? 'berth';
  const version = opts.version ?? readManifest(repoRoot).version ?? '0.0.0';
  const revision = opts.revision ?? git(repoRoot, ['rev-parse', 'HEAD']) ?? 'unknown';
  const source = opts.source ?? git(repoRoot, ['remote', 'get-url', 'origin']) ?? '';
  const major = process.versions.node.split('.')[0]!;

  const baseTag = `${repository}/node-base:${major}`;
  const toolsTag = `${repository}/node-base:${major}-tools`;
  const buildTag = `${repository}/build-env:${version}`;
  const helpers = [baseTag, toolsTag, buildTag];

  await importBaseImage(docker, await nodeBaseTar(), baseTag);
  step(`imported ${baseTag}`);
  await importBaseImage(docker, await nodeBaseTar(RUNTIME_TOOLS_PACKAGES), toolsTag);
  step(`imported ${toolsTag}`);
  helpers.push(...(await buildEnvImage(docker, repoRoot, baseTag, buildTag)));
  step(`built ${buildTag}`);

  const context = mkdtempSync(join(tmpdir(), 'berth-context-'));
  const images: Record<string, string> = {};
  try {
    stageContext(repoRoot, context);
    for (const target of opts.targets ?? imageTargets(repoRoot)) {
      const tag = `${repository}/${target}:${version}`;
      await docker.build({
        context,
        dockerfile: join(context, DOCKERFILE),
        target,
        tag,
        buildArgs: {
          BASE_IMAGE: baseTag,
          BUILD_IMAGE: buildTag,
          AGENT_BASE_IMAGE: toolsTag,
          NETWORKING_BASE_IMAGE: toolsTag,
          SNAPSHOTS_BASE_IMAGE: toolsTag,
          VERSION: version,
          REVISION: revision,
          SOURCE: source,
        },
      });
      images[target] = tag;
      step(`built ${tag}`);
    }
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return { images, helpers, version, revision, source };
}

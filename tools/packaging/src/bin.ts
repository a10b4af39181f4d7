#!/usr/bin/env node
// berth-package: bundle a workspace package for an image, stage a build
// context, or build every berth image offline on a Docker engine.
//
//   berth-package bundle WORKSPACE_DIR OUT_DIR     (used by the Dockerfile's build stage)
//   berth-package context OUT_DIR
//   berth-package images [--docker-host unix:///path] [--repository berth] [--targets a,b]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findRepoRoot } from './workspace.js';

// Each command loads only its own modules: `bundle` runs in the image build
// stage and needs none of the Docker and base-image machinery (nor the test kit it uses).

const USAGE = `usage:
  berth-package bundle WORKSPACE_DIR OUT_DIR [--root DIR]
  berth-package context OUT_DIR [--root DIR]
  berth-package images [--root DIR] [--docker-host HOST] [--repository NAME] [--version V] [--targets a,b]`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      'docker-host': { type: 'string' },
      repository: { type: 'string' },
      version: { type: 'string' },
      targets: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const root = values.root ? resolve(values.root) : findRepoRoot(process.cwd());
  switch (command) {
    case 'bundle': {
      const [workspace, out] = rest;
      if (!workspace || !out || rest.length !== 2) throw new Error(USAGE);
      const { writeBundle } = await import('./bundle/write.js');
      const m = writeBundle(root, workspace, resolve(out));
      process.stdout.write(`bundled ${m.name}@${m.version}: ${m.packages.length} packages, entry ${m.entry}\n`);
      return;
    }
    case 'context': {
      const [out] = rest;
      if (!out || rest.length !== 1) throw new Error(USAGE);
      const { stageContext } = await import('./images/context.js');
      stageContext(root, resolve(out));
      return;
    }
    case 'images': {
      const host = values['docker-host'] ?? process.env['DOCKER_HOST'];
      if (!host) throw new Error('images: no engine given (--docker-host or DOCKER_HOST)');
      const [{ DockerCli }, { buildOfflineImages }] = await Promise.all([import('./docker/cli.js'), import('./images/build-images.js')]);
      const built = await buildOfflineImages(new DockerCli(host), {
        repoRoot: root,
        ...(values.repository ? { repository: values.repository } : {}),
        ...(values.version ? { version: values.version } : {}),
        ...(values.targets ? { targets: values.targets.split(',') } : {}),
        onStep: (s) => process.stderr.write(`berth-package: ${s}\n`),
      });
      for (const [target, ref] of Object.entries(built.images)) process.stdout.write(`${target}\t${ref}\n`);
      return;
    }
    default:
      throw new Error(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`berth-package: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

// Image commands, at the top level (pull, images, rmi, ...) and under the
// `image` management command (image ls, image rm, image inspect, image prune).
import { Option, type Command } from 'commander';
import { action, collect, examples, formatOf, formatOption, stackAction, type ProgramContext } from './common.js';

const imagesCmd = () => import('../commands/images.js');

/** pull and push: the reference and --platform, checked before the stack is looked for. */
async function checkReferenceAndPlatform(ref: string, o: { platform?: string }): Promise<void> {
  (await import('../parse/reference.js')).resolveReference(ref);
  (await import('../parse/platform.js')).parsePlatformFlag(o.platform);
}

export function defineImageCommands(parent: Command, ctx: ProgramContext, management: boolean): void {
  const g = ctx.globals;
  const prefix = management ? 'berth image' : 'berth';

  examples(
    parent
      .command('pull')
      .description('pull an image from a registry (per-layer progress on a terminal)')
      .option('-q, --quiet', 'only print the image name')
      .option('--platform <os/arch[/variant]>', 'platform to pull (default: this host\'s)')
      .option('--plain-http', 'use plain HTTP (loopback registries always do)')
      .option('--skip-tls-verify', 'do not verify the registry\'s TLS certificate')
      .argument('<reference>', 'image reference, e.g. busybox or 127.0.0.1:5000/library/debian:bookworm')
      .action(
        stackAction(
          ctx,
          ['images'],
          async (ref: string, o) => (await imagesCmd()).pull(g(), ref, o),
          (ref, o) => checkReferenceAndPlatform(ref, o),
        ),
      ),
    `${prefix} pull busybox`,
    `${prefix} pull --platform linux/arm64 127.0.0.1:5000/library/debian:bookworm`,
  );

  examples(
    parent
      .command('push')
      .description('push an image to a registry')
      .option('-q, --quiet', 'only print the pushed digest')
      .option('--platform <os/arch[/variant]>', 'push only this platform\'s manifest')
      .option('--plain-http', 'use plain HTTP (loopback registries always do)')
      .option('--skip-tls-verify', 'do not verify the registry\'s TLS certificate')
      .argument('<reference>', 'local image name, pushed to the registry it names')
      .action(
        stackAction(
          ctx,
          ['images'],
          async (ref: string, o) => (await imagesCmd()).push(g(), ref, o),
          (ref, o) => checkReferenceAndPlatform(ref, o),
        ),
      ),
    `${prefix} tag busybox 127.0.0.1:5000/tools/busybox:1`,
    `${prefix} push 127.0.0.1:5000/tools/busybox:1`,
  );

  examples(
    parent
      .command(management ? 'ls' : 'images')
      .aliases(management ? ['list'] : [])
      .description('list images')
      .option('-a, --all', 'accepted for compatibility (berth has no intermediate images)')
      .option('-q, --quiet', 'only print image ids')
      .option('--digests', 'show digests')
      .option('--no-trunc', 'do not truncate ids')
      .option('-f, --filter <key=value>', 'filter: reference (name, glob), label, digest', collect, [])
      .addOption(formatOption())
      .argument('[repository]', 'only images of this repository')
      .action(
        stackAction(ctx, ['images'], async (repository: string | undefined, o) =>
          (await imagesCmd()).list(g(), { ...o, noTrunc: o.trunc === false, repository }, formatOf(o)),
        ),
      ),
    `${prefix} ${management ? 'ls' : 'images'}`,
    `${prefix} ${management ? 'ls' : 'images'} -q`,
    `${prefix} ${management ? 'ls' : 'images'} --format json`,
    `${prefix} ${management ? 'ls' : 'images'} --format '{{.Repository}}:{{.Tag}}'`,
  );

  examples(
    parent
      .command(management ? 'rm' : 'rmi')
      .aliases(management ? ['remove'] : [])
      .description('remove images (refused while a container uses them, unless --force)')
      .option('-f, --force', 'remove even when containers use the image')
      .argument('<images...>', 'image names or ids')
      .action(stackAction(ctx, ['images', 'tasks'], async (refs: string[], o) => (await imagesCmd()).remove(g(), refs, o))),
    `${prefix} ${management ? 'rm' : 'rmi'} busybox`,
  );

  examples(
    parent
      .command('tag')
      .description('give an image another name')
      .argument('<source>', 'existing image name or id')
      .argument('<target>', 'new name')
      .action(
        stackAction(
          ctx,
          ['images'],
          async (source: string, target: string) => (await imagesCmd()).tag(g(), source, target),
          async (_source, target) => void (await import('../parse/reference.js')).resolveReference(target),
        ),
      ),
    `${prefix} tag busybox 127.0.0.1:5000/tools/busybox:1`,
  );

  examples(
    parent
      .command('save')
      .description('write images to a tar archive (OCI layout or docker-archive)')
      .option('-o, --output <file>', 'write to a file instead of stdout')
      .addOption(new Option('--format <format>', 'archive format (default: the service\'s, OCI)').choices(['oci', 'docker']))
      .option('--platform <os/arch[/variant]>', 'include only this platform (repeatable)', collect, [])
      .argument('<images...>', 'image names or ids')
      .action(stackAction(ctx, ['images'], async (refs: string[], o) => (await imagesCmd()).save(g(), refs, o))),
    `${prefix} save -o busybox.tar busybox`,
    `${prefix} save --format docker busybox | gzip > busybox.tar.gz`,
  );

  examples(
    parent
      .command('load')
      .description('load images from a tar archive (OCI layout or docker-archive)')
      .option('-i, --input <file>', 'read from a file instead of stdin')
      .option('-q, --quiet', 'no progress')
      .option('--platform <os/arch[/variant]>', 'platform to unpack (default: this host\'s)')
      .action(stackAction(ctx, ['images'], async (o) => (await imagesCmd()).load(g(), o))),
    `${prefix} load -i busybox.tar`,
    `${prefix} load < busybox.tar`,
  );

  if (!management) return;

  examples(
    parent
      .command('inspect')
      .description('show image details as JSON (manifest, config, layers)')
      .option('--platform <os/arch[/variant]>', 'platform to resolve (default: this host\'s)')
      .option('-f, --format <format>', 'json, or a template such as \'{{.chainId}}\'', 'json')
      .argument('<images...>', 'image names or ids')
      .action(stackAction(ctx, ['images'], async (refs: string[], o) => (await imagesCmd()).inspect(g(), refs, o, formatOf(o)))),
    'berth image inspect busybox',
    "berth image inspect -f '{{.config.digest}}' busybox",
  );

  examples(
    parent
      .command('prune')
      .description('remove content no image refers to; with --all also images no container uses')
      .option('-a, --all', 'also remove images no container uses')
      .option('-f, --force', 'do not ask for confirmation')
      .action(stackAction(ctx, ['images'], async (o) => (await imagesCmd()).prune(g(), o))),
    'berth image prune -f',
    'berth image prune -af',
  );
}

export function defineRegistryCommands(program: Command, ctx: ProgramContext): void {
  const g = ctx.globals;
  examples(
    program
      .command('login')
      .description('log in to a registry (credentials kept in ~/.docker/config.json)')
      .option('-u, --username <name>', 'user name')
      .option('-p, --password <password>', 'password (prefer --password-stdin)')
      .option('--password-stdin', 'read the password from stdin')
      .option('--plain-http', 'use plain HTTP (loopback registries always do)')
      .option('--skip-tls-verify', 'do not verify the registry\'s TLS certificate')
      .argument('[server]', 'registry host (default: docker.io)')
      .action(stackAction(ctx, ['images'], async (server: string | undefined, o) => (await import('../commands/login.js')).login(g(), server, o))),
    'berth login 127.0.0.1:5000',
    'echo "$TOKEN" | berth login -u ci --password-stdin registry.example.com',
  );
  examples(
    program
      .command('logout')
      .description('remove stored credentials for a registry')
      .argument('[server]', 'registry host (default: docker.io)')
      .action(action(ctx, async (server: string | undefined) => (await import('../commands/login.js')).logout(ctx.io, server))),
    'berth logout 127.0.0.1:5000',
  );
}

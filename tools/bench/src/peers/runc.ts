// The floor: bare `runc run` on a bundle prepared once — the busybox image's
// layers extracted into rootfs/, config.json from `runc spec` without a
// terminal. No image store, no snapshot, no monitor, no daemon: what is left
// is the cost of making the container itself.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, requireBinary } from '@berth/testkit';
import { output, runCommand, type Command } from '../exec.js';

interface OciDescriptor {
  mediaType: string;
  digest: string;
}

/** tar's decompression flag for a layer media type. Pure. */
export function layerTarFlags(mediaType: string): string[] {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return ['-z'];
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return ['--zstd'];
  if (mediaType.endsWith('.tar') || mediaType.endsWith('.tar.v1') || mediaType.endsWith('layer.v1.tar') || mediaType.endsWith('rootfs.diff.tar')) return [];
  throw new Error(`layer media type ${JSON.stringify(mediaType)} is not a tar, tar+gzip or tar+zstd layer`);
}

/** The spec `runc spec` writes, made to run `args` without a terminal on a read-only rootfs/. Pure. */
export function floorSpec(spec: Record<string, unknown>, args: readonly string[]): Record<string, unknown> {
  const proc = (spec['process'] ?? {}) as Record<string, unknown>;
  return {
    ...spec,
    process: { ...proc, terminal: false, args: [...args] },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc-floor',
  };
}

const blobPath = (layoutDir: string, digest: string) => {
  const [alg, hex] = digest.split(':');
  if (!alg || !hex) throw new Error(`malformed digest ${JSON.stringify(digest)} in ${layoutDir}`);
  return join(layoutDir, 'blobs', alg, hex);
};

/** Extracts the (single-platform) image of an OCI layout into rootfs, layer by layer. */
export async function extractLayout(layoutDir: string, rootfs: string): Promise<void> {
  const tar = requireBinary('tar');
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests?: OciDescriptor[] };
  const top = index.manifests?.[0];
  if (!top) throw new Error(`${layoutDir}/index.json lists no manifest`);
  const manifest = JSON.parse(await readFile(blobPath(layoutDir, top.digest), 'utf8')) as { layers?: OciDescriptor[] };
  if (!manifest.layers) throw new Error(`${top.digest} in ${layoutDir} is not an image manifest (an index is not supported here)`);
  await mkdir(rootfs, { recursive: true });
  for (const layer of manifest.layers) {
    await runCommand({ file: tar, args: ['-x', ...layerTarFlags(layer.mediaType), '-f', blobPath(layoutDir, layer.digest), '-C', rootfs, '--numeric-owner', '-p'] });
  }
}

export interface RuncFloor {
  bundle: string;
  root: string;
  /** `runc --root <private> run --bundle <bundle> <id>` */
  run(id: string): Command;
  stop(): Promise<void>;
}

export async function prepareRuncFloor(layoutDir: string, args: readonly string[]): Promise<RuncFloor> {
  const runc = requireBinary('runc', 'apt-get install runc');
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-runc-'));
  const bundle = join(dir, 'bundle');
  const root = join(dir, 'state');
  const stop = async () => {
    const ids = (await output({ file: runc, args: ['--root', root, 'list', '-q'] }).catch(() => '')).split('\n').filter(Boolean);
    for (const id of ids) await runCommand({ file: runc, args: ['--root', root, 'delete', '-f', id] }).catch(() => undefined);
    await removeTree(dir);
  };
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    await extractLayout(layoutDir, join(bundle, 'rootfs'));
    await runCommand({ file: runc, args: ['spec', '--bundle', bundle] });
    const configPath = join(bundle, 'config.json');
    const spec = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify(floorSpec(spec, args), null, 2));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { bundle, root, run: (id) => ({ file: runc, args: ['--root', root, 'run', '--bundle', bundle, id] }), stop };
}

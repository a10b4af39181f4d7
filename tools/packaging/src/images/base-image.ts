// Offline base images: Debian's minbase root filesystem (debootstrap, from
// the test kit's cache) with the host's Node runtime added, as one tar cached
// under /var/cache/berth-test keyed by everything that decides its content,
// and imported into a Docker engine with `docker import`.
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild, debianRootfs, requireBinary, run, sha256File } from '@berth/testkit';
import type { DockerCli } from '../docker/cli.js';
import { hostNode, missingLibraries, normaliseTarNames, writeNodeOverlay } from './node-runtime.js';

/**
 * Debian packages of the offline base for the services that drive host
 * tools: agent (runc, conmon, CNI plugins, iptables, ip, tini), networking
 * (ip) and snapshots (zstd). An online build installs each service's own
 * subset instead (deploy/docker/Dockerfile).
 */
export const RUNTIME_TOOLS_PACKAGES = ['conmon', 'containernetworking-plugins', 'iproute2', 'iptables', 'runc', 'tini', 'zstd'];

/** Bumped when the layout of the base tar changes. */
const BASE_LAYOUT = 2;

export interface BaseImageTar {
  tarFile: string;
  /** Content key (also the cache entry's). */
  key: string;
  nodeVersion: string;
  npmVersion: string;
  include: string[];
  /** Libraries copied from the host because the root filesystem lacked them. */
  addedLibraries: string[];
}

/**
 * Paths under `overlay` (relative, parents first) that are not in the root
 * filesystem; a file the root filesystem already has is an error, since the
 * overlay would silently shadow it.
 */
export function overlayEntries(overlay: string, rootfsNames: Set<string>): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(overlay, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const present = rootfsNames.has(path);
      if (entry.isDirectory()) {
        if (!present) out.push(path);
        walk(path);
      } else if (present) {
        throw new Error(`the root filesystem already has /${path}; the Node runtime overlay would replace it`);
      } else out.push(path);
    }
  };
  walk('');
  return out;
}

/** Builds (once, then from the cache) the base tar: minbase + `include` packages + the host's node and npm. */
export async function nodeBaseTar(include: readonly string[] = []): Promise<BaseImageTar> {
  const rootfs = await debianRootfs({ include: [...include] });
  const node = hostNode();
  const nodeDigest = await sha256File(node.binary);
  const keyParts = { layout: BASE_LAYOUT, rootfs: rootfs.diffId, node: nodeDigest, npm: node.npmVersion, include: rootfs.include };
  const entry = await cachedBuild('node-base', keyParts, async (tmp) => {
    const tar = requireBinary('tar');
    const names = normaliseTarNames((await run(tar, ['-tf', rootfs.tarFile])).stdout.toString());
    const addedLibraries = await missingLibraries(node.binary, names);
    const overlay = join(tmp, 'overlay');
    writeNodeOverlay(overlay, node, addedLibraries);
    const tarFile = join(tmp, 'image.tar');
    copyFileSync(rootfs.tarFile, tarFile);
    // docker import refuses a tar that names a path twice: append only what the root filesystem lacks.
    const listFile = join(tmp, 'overlay.list');
    writeFileSync(listFile, overlayEntries(overlay, names).join('\n') + '\n');
    await run(tar, [
      '--append', '--file', tarFile, '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1577836800',
      '--no-recursion', '-C', overlay, '--files-from', listFile,
    ]);
    return { nodeVersion: node.version, npmVersion: node.npmVersion, include: rootfs.include, addedLibraries };
  });
  const key = entry.dir.slice(entry.dir.lastIndexOf('-') + 1);
  return { ...entry.value, tarFile: join(entry.dir, 'image.tar'), key };
}

/** Imports a base tar into the engine as `tag` (PATH set, `node` as the default command). */
export async function importBaseImage(docker: DockerCli, base: BaseImageTar, tag: string): Promise<void> {
  await docker.run([
    'import',
    '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', 'CMD ["node"]',
    '--change', `LABEL org.opencontainers.image.description="Debian 12 minbase${base.include.length ? ` + ${base.include.join(' ')}` : ''} + Node ${base.nodeVersion} from the build host" org.berth.base-key=${base.key}`,
    base.tarFile,
    tag,
  ]);
}

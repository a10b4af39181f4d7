// A Debian image from debootstrap against the machine's own apt mirror,
// cached in two steps: the root filesystem as one uncompressed layer tar
// (minutes to build), and the image for each media type / compression
// (seconds). Both are keyed by everything that decides their content.
import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedBuild } from '../cache.js';
import { sha256File } from '../digest.js';
import { buildImage, type BuiltImage } from '../image.js';
import { removeTree } from '../mounts.js';
import { requireBinary, run } from '../process.js';
import { writeDirectoryTar } from '../rootfs-tar.js';
import { aptMirrorFor } from './apt-mirror.js';
import type { TestImageOptions } from './busybox.js';

export interface DebianImageOptions extends TestImageOptions {
  /** Default 'bookworm'. */
  suite?: string;
  /** debootstrap --variant; default 'minbase'. */
  variant?: string;
  /** Extra packages (debootstrap --include). */
  include?: string[];
  /** Default: the URI /etc/apt uses for the suite. No other host is ever used. */
  mirror?: string;
}

export interface DebianRootfs {
  /** Uncompressed layer tar of the root filesystem. */
  tarFile: string;
  diffId: string;
  size: number;
  suite: string;
  variant: string;
  arch: string;
  mirror: string;
  include: string[];
}

/** Host-specific leftovers of debootstrap that do not belong in an image. */
async function cleanRootfs(rootfs: string): Promise<void> {
  const emptyDir = async (rel: string, keep: string[] = []): Promise<void> => {
    const dir = join(rootfs, rel);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!keep.includes(name)) await rm(join(dir, name), { recursive: true, force: true });
    }
  };
  await emptyDir('dev'); // the runtime provides /dev; images ship it empty
  await emptyDir('var/cache/apt/archives', ['partial', 'lock']);
  await emptyDir('var/cache/apt/archives/partial');
  await emptyDir('var/lib/apt/lists', ['partial', 'lock']);
  await emptyDir('tmp');
  for (const rel of ['etc/hostname', 'etc/resolv.conf', 'var/log/bootstrap.log']) {
    await rm(join(rootfs, rel), { force: true });
  }
}

async function dpkgArchitecture(): Promise<string> {
  const dpkg = requireBinary('dpkg');
  return (await run(dpkg, ['--print-architecture'])).stdout.toString().trim();
}

/** The debootstrapped root filesystem as a layer tar in the shared cache (built once). */
export async function debianRootfs(opts: DebianImageOptions = {}): Promise<DebianRootfs> {
  const suite = opts.suite ?? 'bookworm';
  const variant = opts.variant ?? 'minbase';
  const include = [...new Set(opts.include ?? [])].sort();
  const mirror = opts.mirror ?? aptMirrorFor(suite);
  const arch = await dpkgArchitecture();
  const entry = await cachedBuild(
    'debian-rootfs',
    { suite, variant, include, mirror, arch },
    async (tmp): Promise<Omit<DebianRootfs, 'tarFile'>> => {
      const debootstrap = requireBinary('debootstrap', 'apt-get install debootstrap');
      const rootfs = join(tmp, `rootfs-${randomBytes(4).toString('hex')}`);
      try {
        await run(
          debootstrap,
          [
            `--variant=${variant}`,
            `--arch=${arch}`,
            ...(include.length ? [`--include=${include.join(',')}`] : []),
            suite,
            rootfs,
            mirror,
          ],
          {
            env: {
              ...process.env,
              PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
              DEBIAN_FRONTEND: 'noninteractive',
              LC_ALL: 'C',
            },
            timeoutMs: 30 * 60_000,
          },
        );
        await cleanRootfs(rootfs);
        const tarFile = join(tmp, 'rootfs.tar');
        await writeDirectoryTar(rootfs, tarFile);
        const { size } = await stat(tarFile);
        return { diffId: await sha256File(tarFile), size, suite, variant, arch, mirror, include };
      } finally {
        await removeTree(rootfs);
      }
    },
  );
  return { ...entry.value, tarFile: join(entry.dir, 'rootfs.tar') };
}

/**
 * debootstrap --variant=minbase bookworm as a single-layer image (CMD
 * ["bash"]) in the shared cache; the first call takes minutes, later ones
 * return at once. Concurrent calls (any process) build it once.
 */
export async function debianImage(opts: DebianImageOptions = {}): Promise<BuiltImage> {
  const rootfs = await debianRootfs(opts);
  const mediaTypes = opts.mediaTypes ?? 'oci';
  const compression = opts.compression ?? 'gzip';
  const refName = opts.refName ?? rootfs.suite;
  const entry = await cachedBuild(
    'debian',
    { rootfs: rootfs.diffId, mediaTypes, compression, refName },
    async (tmp) => {
      const { layoutDir: _ignored, ...rest } = await buildImage(
        {
          layers: [{ tarFile: rootfs.tarFile }],
          config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cmd: ['bash'] },
          mediaTypes,
          compression,
          refName,
        },
        join(tmp, 'layout'),
      );
      return rest;
    },
  );
  return { ...entry.value, layoutDir: join(entry.dir, 'layout') };
}

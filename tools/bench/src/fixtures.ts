// The same registry and images for every contestant: Debian's
// docker-registry on 127.0.0.1 (testkit), with the busybox image and, when a
// scenario needs it, the debootstrapped Debian image (cached under
// /var/cache/berth-test) pushed as built, digests preserved.
import { busyboxImage, debianImage, pushImage, startRegistry, type TestRegistry } from '@berth/testkit';

export interface Fixtures {
  registry: TestRegistry;
  /** 127.0.0.1:PORT/library/busybox:latest */
  busybox: string;
  /** The busybox image's OCI layout (the runc floor's rootfs comes from it). */
  busyboxLayout: string;
  /** 127.0.0.1:PORT/library/debian:bookworm, when asked for. */
  debian?: string;
}

export async function startFixtures(opts: { debian: boolean; log: (msg: string) => void }): Promise<Fixtures> {
  const registry = await startRegistry();
  try {
    opts.log(`registry on ${registry.host}`);
    const busybox = await busyboxImage();
    await pushImage(busybox.layoutDir, 'library/busybox:latest', { registry });
    const fixtures: Fixtures = { registry, busybox: `${registry.host}/library/busybox:latest`, busyboxLayout: busybox.layoutDir };
    if (opts.debian) {
      opts.log('debian image (debootstrap, cached under /var/cache/berth-test)');
      const debian = await debianImage();
      await pushImage(debian.layoutDir, 'library/debian:bookworm', { registry });
      fixtures.debian = `${registry.host}/library/debian:bookworm`;
    }
    return fixtures;
  } catch (err) {
    await registry.stop().catch(() => undefined);
    throw err;
  }
}

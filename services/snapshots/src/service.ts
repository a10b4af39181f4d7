// The snapshots service: the snapshotter and layer apply/diff behind the
// berth.snapshots.v1 gRPC API, with events on NATS.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { images } from '@berth/api';
import { createClient, normaliseAddress, packageVersion, peerAddress, type ServiceSpec } from '@berth/service-kit';
import { snapshotsConfigSchema } from './config.js';
import { Snapshotter } from './snapshotter.js';
import { ContentPeer } from './grpc/content-peer.js';
import { SnapshotEvents } from './grpc/events.js';
import { layersService } from './grpc/layers.js';
import { snapshotsService } from './grpc/snapshots.js';
import { rpcAdapters } from './grpc/status.js';

export const snapshotsServiceSpec: ServiceSpec<typeof snapshotsConfigSchema> = {
  name: 'snapshots',
  version: packageVersion(import.meta.url),
  configSchema: snapshotsConfigSchema,
  setup: async (ctx) => {
    const { config, logger } = ctx;
    const sn = await Snapshotter.open({
      root: ctx.paths.stateDir,
      driver: config.driver,
      onRemovalError: (err, path) => logger.warn({ err, path }, 'cannot delete a removed snapshot directory; the next start deletes it'),
    });
    // Computed layers are staged here on their way to the images service; anything left is from a crash.
    const scratchDir = join(ctx.paths.stateDir, 'diffs');
    rmSync(scratchDir, { recursive: true, force: true });
    mkdirSync(scratchDir, { mode: 0o700 });
    const imagesAddress = normaliseAddress(peerAddress('images', config));
    const content = new ContentPeer(createClient(images.ContentClient, imagesAddress), imagesAddress);
    const rpc = rpcAdapters(logger);
    const deps = {
      sn,
      snapshotter: sn.info().driver,
      events: new SnapshotEvents(ctx.bus, logger, sn.info().driver),
      content,
      rpc,
      logger,
      defaultNamespace: config.namespace,
      allowDevices: config.allowDevices,
      gzipLevel: config.gzipLevel,
      scratchDir,
    };
    logger.info({ root: sn.root, driver: config.driver, images: imagesAddress }, 'snapshotter open');
    return {
      services: [snapshotsService(deps), layersService(deps)],
      close: async () => {
        await rpc.idle();
        content.close();
        await sn.removalsSettled();
        sn.close();
      },
    };
  },
};

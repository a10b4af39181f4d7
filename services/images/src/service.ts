// The images service: its settings, and the setup that opens the core on the
// service's state directory and serves Content, Images, Transfer and Leases.
import { serviceDefinitions } from '@berth/api';
import { baseConfigSchema, packageVersion, peerAddress, type ServiceSpec } from '@berth/service-kit';
import { z } from 'zod';
import { busEventSink } from './bus-events.js';
import { ImagesCore } from './core.js';
import { contentService } from './grpc/content.js';
import { createHandlers } from './grpc/handlers.js';
import { imagesService } from './grpc/images.js';
import { leasesService } from './grpc/leases.js';
import { Operations } from './grpc/operations.js';
import { transferService } from './grpc/transfer.js';
import { snapshotCollector } from './grpc/snapshot-gc.js';
import { snapshotsTarget } from './grpc/unpack.js';
import { SnapshotHolds } from './snapshot-holds.js';
import type { RegistryClientOptions } from './registry/client.js';
import { defaultDockerConfigPath, dockerConfigCredentials } from './registry/docker-config.js';
import { hostsFromConfig } from './registry/hosts.js';
import { safeLogger } from './log-safety.js';

export const imagesConfigSchema = baseConfigSchema.extend({
  images: z
    .object({
      /** Registry credentials, in Docker's config.json format ($DOCKER_CONFIG/config.json, else ~/.docker/config.json). */
      dockerConfigPath: z.string().min(1).default(() => defaultDockerConfigPath()),
      /** Registry hosts (host[:port]) spoken to over plain HTTP; loopback registries are unless `registries` says otherwise. */
      insecureRegistries: z.array(z.string().min(1)).default([]),
      /**
       * Per-registry connection settings, like containerd's hosts.toml, keyed
       * by the registry as image references name it (host[:port]). Set in the
       * JSON config file (--config / BERTH_CONFIG).
       */
      registries: z
        .record(
          z.string().min(1),
          z
            .object({
              /** PEM file with the CA certificate(s) the registry's certificate chains to; trusted besides the system's. */
              caFile: z.string().min(1).optional(),
              /** Accept any certificate from this registry. */
              insecureSkipVerify: z.boolean().optional(),
              /** true: plain HTTP; false: HTTPS even on loopback; unset: HTTPS when caFile or insecureSkipVerify is set, else the default. */
              plainHttp: z.boolean().optional(),
            })
            .strict(),
        )
        .default({}),
      /** Blobs fetched (or pushed) at once per image when a request does not say. */
      pullConcurrency: z.number().int().min(1).max(64).default(3),
      /** Interrupted ingests untouched this long are removed at start-up. */
      staleIngestHours: z.number().positive().default(24),
      /** Whether pulls and imports that ask to unpack do (through the snapshots service). */
      unpack: z.boolean().default(true),
      /** Snapshotter used when a request names none. */
      snapshotter: z.string().min(1).default('overlayfs'),
    })
    .strict()
    .default({}),
});

export type ImagesConfig = z.infer<typeof imagesConfigSchema>;

export const imagesServiceSpec: ServiceSpec<typeof imagesConfigSchema> = {
  name: 'images',
  version: packageVersion(import.meta.url),
  configSchema: imagesConfigSchema,
  setup: async (ctx) => {
    const settings = ctx.config.images;
    const logger = safeLogger(ctx.logger);
    const events = busEventSink(ctx.bus, logger, ctx.config.namespace);
    const registryBase: RegistryClientOptions = {
      credentials: dockerConfigCredentials(settings.dockerConfigPath),
      insecureRegistries: settings.insecureRegistries,
      hosts: hostsFromConfig(settings.registries),
    };
    const core = await ImagesCore.open({
      stateDir: ctx.paths.stateDir,
      registry: registryBase,
      events: events.sink,
      staleIngestMs: settings.staleIngestHours * 3_600_000,
    });
    const snapshotsAddress = peerAddress('snapshots', ctx.config);
    const snapshots = snapshotsTarget(snapshotsAddress);
    const holds = new SnapshotHolds();
    // Only a node that unpacks has layer snapshots of its own to collect.
    const snapshotGc = settings.unpack
      ? snapshotCollector({ core, holds, target: snapshots, snapshotter: settings.snapshotter, logger })
      : undefined;
    const handlers = createHandlers(logger);
    const operations = new Operations();
    const defs = serviceDefinitions.images;
    logger.info(
      { stateDir: ctx.paths.stateDir, snapshots: snapshotsAddress, unpack: settings.unpack, snapshotter: settings.snapshotter },
      'images core open',
    );
    return {
      services: [
        { definition: defs.Content, handlers: contentService(core, handlers, snapshotGc) },
        { definition: defs.Images, handlers: imagesService(core, handlers, snapshotGc) },
        {
          definition: defs.Transfer,
          handlers: transferService(core, handlers, {
            registryBase,
            concurrency: settings.pullConcurrency,
            unpackWanted: (asked, what) => {
              if (asked && !settings.unpack) logger.info(`${what}: not unpacking, this node runs with images.unpack=false`);
              return asked && settings.unpack;
            },
            snapshotter: settings.snapshotter,
            snapshots,
            holds,
            progressIntervalMs: 100,
            operations,
          }),
        },
        { definition: defs.Leases, handlers: leasesService(core, handlers) },
      ],
      // Runs after the gRPC server drained (and cut what was left): cancelled
      // transfers wind down, their last events go out, then the store closes.
      close: async () => {
        await operations.settle();
        await events.settle();
        core.close();
      },
    };
  },
};

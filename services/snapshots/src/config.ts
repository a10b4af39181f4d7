import { baseConfigSchema } from '@berth/service-kit';
import { z } from 'zod';

/** The snapshots service's settings: the shared ones plus the storage driver and layer policy. */
export const snapshotsConfigSchema = baseConfigSchema.extend({
  /** Storage backend of the state root; a root keeps the driver it was created with. */
  driver: z.enum(['overlayfs', 'native']).default('overlayfs'),
  /** Create char/block device nodes that image layers carry (fifos are always allowed). */
  allowDevices: z.boolean().default(true),
  /** gzip level of layers computed by DiffSnapshot. */
  gzipLevel: z.number().int().min(1).max(9).default(6),
});

export type SnapshotsConfig = z.infer<typeof snapshotsConfigSchema>;

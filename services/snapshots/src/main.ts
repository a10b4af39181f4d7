// berth-snapshots: the snapshots service process.
import { serviceDefinitions, unimplementedHandlers } from '@berth/api';
import { baseConfigSchema, packageVersion, runServiceMain } from '@berth/service-kit';

runServiceMain({
  name: 'snapshots',
  version: packageVersion(import.meta.url),
  configSchema: baseConfigSchema,
  setup: async () => ({
    services: Object.values(serviceDefinitions.snapshots).map((definition) => ({
      definition,
      handlers: unimplementedHandlers(definition),
    })),
  }),
});

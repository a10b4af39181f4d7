// berth-images: the images service process.
import { serviceDefinitions, unimplementedHandlers } from '@berth/api';
import { baseConfigSchema, packageVersion, runServiceMain } from '@berth/service-kit';

runServiceMain({
  name: 'images',
  version: packageVersion(import.meta.url),
  configSchema: baseConfigSchema,
  setup: async () => ({
    services: Object.values(serviceDefinitions.images).map((definition) => ({
      definition,
      handlers: unimplementedHandlers(definition),
    })),
  }),
});

// berth-networking: the networking service process.
import { serviceDefinitions, unimplementedHandlers } from '@berth/api';
import { baseConfigSchema, packageVersion, runServiceMain } from '@berth/service-kit';

runServiceMain({
  name: 'networking',
  version: packageVersion(import.meta.url),
  configSchema: baseConfigSchema,
  setup: async () => ({
    services: Object.values(serviceDefinitions.networking).map((definition) => ({
      definition,
      handlers: unimplementedHandlers(definition),
    })),
  }),
});

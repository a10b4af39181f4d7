// berth-agent: the agent service process.
import { serviceDefinitions, unimplementedHandlers } from '@berth/api';
import { baseConfigSchema, packageVersion, runServiceMain } from '@berth/service-kit';

runServiceMain({
  name: 'agent',
  version: packageVersion(import.meta.url),
  configSchema: baseConfigSchema,
  setup: async () => ({
    services: Object.values(serviceDefinitions.agent).map((definition) => ({
      definition,
      handlers: unimplementedHandlers(definition),
    })),
  }),
});

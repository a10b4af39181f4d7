#!/usr/bin/env node
// berth-tasks: the tasks service process.
import { packageVersion, runServiceMain } from '@berth/service-kit';
import { tasksConfigSchema } from './config.js';
import { setupTasksService } from './service.js';

runServiceMain({
  name: 'tasks',
  version: packageVersion(import.meta.url),
  configSchema: tasksConfigSchema,
  setup: setupTasksService,
});

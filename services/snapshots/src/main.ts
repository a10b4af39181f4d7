// berth-snapshots: the snapshots service process.
import { runServiceMain } from '@berth/service-kit';
import { snapshotsServiceSpec } from './service.js';

runServiceMain(snapshotsServiceSpec);

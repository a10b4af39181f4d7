// berth-networking: the networking service process.
import { runServiceMain } from '@berth/service-kit';
import { networkingServiceSpec } from './service-spec.js';

runServiceMain(networkingServiceSpec);

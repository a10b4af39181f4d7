// berth-agent: the agent service process. The services it serves (Agent,
// Runtime, Mounts, Netns, Cni) are registered in service.ts.
import { runServiceMain } from '@berth/service-kit';
import { agentSpec } from './service.js';

runServiceMain(agentSpec);

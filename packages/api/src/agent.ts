// berth.agent.v1: the node executor (info, runtime, netns, CNI, mounts).
export * from './gen/berth/agent/v1/agent.js';
export * from './gen/berth/agent/v1/runtime.js';
export * from './gen/berth/agent/v1/netns.js';
export * from './gen/berth/agent/v1/cni.js';
export * from './gen/berth/agent/v1/mounts.js';

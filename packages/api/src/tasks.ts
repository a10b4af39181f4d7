// berth.tasks.v1: container records, task lifecycle and logs, nodes, volumes.
export * from './gen/berth/tasks/v1/containers.js';
export * from './gen/berth/tasks/v1/tasks.js';
export * from './gen/berth/tasks/v1/nodes.js';
export * from './gen/berth/tasks/v1/volumes.js';

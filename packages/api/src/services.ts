// The service definitions of every berth component, by component, and their
// fully qualified names (for health checks, reflection and routing).
import type * as grpc from '@grpc/grpc-js';
import * as agent from './agent.js';
import * as images from './images.js';
import * as networking from './networking.js';
import * as snapshots from './snapshots.js';
import * as tasks from './tasks.js';

/** Service definitions grouped by the berth component (process) that serves them. */
export const serviceDefinitions = {
  images: {
    Content: images.ContentService,
    Images: images.ImagesService,
    Transfer: images.TransferService,
    Leases: images.LeasesService,
  },
  snapshots: {
    Snapshots: snapshots.SnapshotsService,
    Layers: snapshots.LayersService,
  },
  tasks: {
    Containers: tasks.ContainersService,
    Tasks: tasks.TasksService,
    Nodes: tasks.NodesService,
    Volumes: tasks.VolumesService,
  },
  networking: {
    Networks: networking.NetworksService,
    Attachments: networking.AttachmentsService,
    Dns: networking.DnsService,
  },
  agent: {
    Agent: agent.AgentService,
    Runtime: agent.RuntimeService,
    Netns: agent.NetnsService,
    Cni: agent.CniService,
    Mounts: agent.MountsService,
  },
} as const;

/** A berth component: images, snapshots, tasks, networking or agent. */
export type Component = keyof typeof serviceDefinitions;

/** Fully qualified name of a service, e.g. "berth.images.v1.Images", read from its method paths. */
export function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  const match = first === undefined ? null : /^\/([^/]+)\/[^/]+$/.exec(first.path);
  if (match?.[1] === undefined) {
    throw new Error(`cannot tell the service name of a definition with methods [${Object.keys(definition).join(', ')}]`);
  }
  return match[1];
}

/** Fully qualified service names served by each component. */
export const serviceNamesByComponent: { readonly [C in Component]: readonly string[] } = {
  images: Object.values(serviceDefinitions.images).map(serviceNameOf),
  snapshots: Object.values(serviceDefinitions.snapshots).map(serviceNameOf),
  tasks: Object.values(serviceDefinitions.tasks).map(serviceNameOf),
  networking: Object.values(serviceDefinitions.networking).map(serviceNameOf),
  agent: Object.values(serviceDefinitions.agent).map(serviceNameOf),
};

/** Every fully qualified berth service name. */
export const serviceNames: readonly string[] = Object.values(serviceNamesByComponent).flat();

// berth.tasks.v1.Nodes over the node registry.
import { unary } from '@berth/service-kit';
import type { tasks } from '@berth/api';
import { nodeMessage, type NodeRegistry } from '../nodes/registry.js';

export function nodesHandlers(registry: NodeRegistry): tasks.NodesServer {
  return {
    listNodes: unary<tasks.ListNodesRequest, tasks.ListNodesResponse>((req) => ({ nodes: registry.list(req.filters).map(nodeMessage) })),
    getNode: unary<tasks.GetNodeRequest, tasks.GetNodeResponse>((req) => ({ node: nodeMessage(registry.require(req.id)) })),
  };
}

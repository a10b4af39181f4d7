// berth.agent.v1.Netns: the network namespaces containers run in, pinned
// under /run/netns (`ip netns`), through @berth/cni. The agent alone names
// them: "<prefix><container id>", the prefix being its setting.
import { agent } from '@berth/api';
import {
  DEFAULT_NETNS_PREFIX,
  NETNS_DIR,
  containerNetnsName,
  containerOfNetns,
  createNetns,
  listNetns,
  netnsExists,
  removeNetns,
  validateNetnsPrefix,
} from '@berth/cni';
import { alreadyExists, invalidArgument, notFound, unary, type ServiceRegistration } from '@berth/service-kit';

export interface NetnsServiceOptions {
  /** Prefix of the container netns names (default DEFAULT_NETNS_PREFIX, "berth-"). */
  prefix?: string;
}

/**
 * The Netns service. It keeps no state: the namespaces are what /run/netns
 * holds, and ListNetns shows every one whose name is <prefix><container id>.
 */
export function netnsRegistration(opts: NetnsServiceOptions = {}): ServiceRegistration {
  const prefix = opts.prefix ?? DEFAULT_NETNS_PREFIX;
  validateNetnsPrefix(prefix);

  const nameOf = (method: string, containerId: string): string => {
    try {
      return containerNetnsName(prefix, containerId);
    } catch (e) {
      throw invalidArgument(`${method}: container_id: ${(e as Error).message}`);
    }
  };
  const info = (name: string, containerId: string): agent.NetnsInfo => ({ name, path: `${NETNS_DIR}/${name}`, containerId });

  const handlers: agent.NetnsServer = {
    createNetns: unary<agent.CreateNetnsRequest, agent.CreateNetnsResponse>(async (req) => {
      const name = nameOf('CreateNetns', req.containerId);
      if (await netnsExists(name)) {
        throw alreadyExists(`container ${req.containerId} already has a network namespace: "${name}" at ${NETNS_DIR}/${name}`);
      }
      const ns = await createNetns(name);
      return { netns: info(ns.name, req.containerId) };
    }),
    removeNetns: unary<agent.RemoveNetnsRequest, agent.RemoveNetnsResponse>(async (req) => {
      const name = nameOf('RemoveNetns', req.containerId);
      const removed = await removeNetns(name);
      if (!removed && !req.ignoreMissing) {
        throw notFound(`container ${req.containerId} has no network namespace (no ${NETNS_DIR}/${name})`);
      }
      return {};
    }),
    listNetns: unary<agent.ListNetnsRequest, agent.ListNetnsResponse>(async () => {
      const namespaces: agent.NetnsInfo[] = [];
      for (const name of await listNetns()) {
        const containerId = containerOfNetns(prefix, name);
        if (containerId !== undefined) namespaces.push(info(name, containerId));
      }
      return { namespaces };
    }),
  };
  return { definition: agent.NetnsService, handlers };
}

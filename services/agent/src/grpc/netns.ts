// berth.agent.v1.Netns: the named network namespaces containers run in,
// pinned under /run/netns (`ip netns`), through @berth/cni.
import { agent } from '@berth/api';
import { NETNS_DIR, createNetns, listNetns, netnsExists, removeNetns, validateNetnsName } from '@berth/cni';
import { alreadyExists, invalidArgument, notFound, unary, type ServiceRegistration } from '@berth/service-kit';

function checkedName(name: string): string {
  try {
    validateNetnsName(name);
  } catch (e) {
    throw invalidArgument((e as Error).message);
  }
  return name;
}

function info(name: string): agent.NetnsInfo {
  return { name, path: `${NETNS_DIR}/${name}` };
}

/**
 * The Netns service. It keeps no state: the namespaces are what /run/netns
 * holds, so ListNetns shows every pinned namespace on the node, whoever made it.
 */
export function netnsRegistration(): ServiceRegistration {
  const handlers: agent.NetnsServer = {
    createNetns: unary<agent.CreateNetnsRequest, agent.CreateNetnsResponse>(async (req) => {
      const name = checkedName(req.name);
      if (await netnsExists(name)) throw alreadyExists(`network namespace "${name}" already exists at ${NETNS_DIR}/${name}`);
      const ns = await createNetns(name);
      return { netns: { name: ns.name, path: ns.path } };
    }),
    removeNetns: unary<agent.RemoveNetnsRequest, agent.RemoveNetnsResponse>(async (req) => {
      const name = checkedName(req.name);
      const removed = await removeNetns(name);
      if (!removed && !req.ignoreMissing) throw notFound(`network namespace "${name}" does not exist (no ${NETNS_DIR}/${name})`);
      return {};
    }),
    listNetns: unary<agent.ListNetnsRequest, agent.ListNetnsResponse>(async () => ({
      namespaces: (await listNetns()).map(info),
    })),
  };
  return { definition: agent.NetnsService, handlers };
}

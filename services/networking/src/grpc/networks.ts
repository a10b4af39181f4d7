// berth.networking.v1.Networks over the core.
import { networking } from '@berth/api';
import type { ServiceRegistration } from '@berth/service-kit';
import { NetworkingError, invalid } from '../errors.js';
import type { Network } from '../network-model.js';
import type { NetworkingService } from '../service.js';
import { createRequestFromProto, isBuiltin, membersToProto, networkToProto } from './convert.js';
import { anyOf, labelMatches, parseFilters, type Filters } from './filters.js';
import type { Rpc } from './handler.js';

const LIST_FILTERS = ['name', 'id', 'driver', 'label', 'type'] as const;

function listMatches(n: Network, f: Filters): boolean {
  return (
    anyOf(f, 'name', (v) => n.name.includes(v)) &&
    anyOf(f, 'id', (v) => n.id.startsWith(v)) &&
    anyOf(f, 'driver', (v) => n.driver === v) &&
    anyOf(f, 'label', (v) => labelMatches(n.labels, v)) &&
    anyOf(f, 'type', (v) => (v === 'builtin') === isBuiltin(n))
  );
}

function parseListFilters(filters: readonly string[]): Filters {
  const f = parseFilters(filters, LIST_FILTERS);
  for (const v of f.get('type') ?? []) {
    if (v !== 'builtin' && v !== 'custom') throw invalid(`filter type=${v}: expected builtin or custom`);
  }
  return f;
}

export function networksRegistration(svc: NetworkingService, rpc: Rpc): ServiceRegistration {
  const toProto = (ref: string) => {
    const inspect = svc.inspectNetwork(ref);
    return { network: networkToProto(inspect, inspect.conflist), members: membersToProto(inspect) };
  };
  const handlers: networking.NetworksServer = {
    createNetwork: rpc<networking.CreateNetworkRequest, networking.CreateNetworkResponse>(async (req) => {
      const net = await svc.createNetwork(createRequestFromProto(req));
      return { network: toProto(net.id).network };
    }),
    getNetwork: rpc<networking.GetNetworkRequest, networking.GetNetworkResponse>(async (req) => toProto(req.name)),
    listNetworks: rpc<networking.ListNetworksRequest, networking.ListNetworksResponse>(async (req) => {
      const filters = parseListFilters(req.filters);
      const networks = svc
        .listNetworks()
        .filter((n) => listMatches(n, filters))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((n) => toProto(n.id).network);
      return { networks };
    }),
    removeNetwork: rpc<networking.RemoveNetworkRequest, networking.RemoveNetworkResponse>(async (req) => {
      await svc.removeNetwork(req.name);
      return {};
    }),
    pruneNetworks: rpc<networking.PruneNetworksRequest, networking.PruneNetworksResponse>(async (req) => {
      const filters = parseFilters(req.filters, ['label']);
      const removed: string[] = [];
      for (const n of svc.listNetworks()) {
        if (isBuiltin(n) || !anyOf(filters, 'label', (v) => labelMatches(n.labels, v))) continue;
        if (svc.listAttachments({ network: n.id }).length > 0) continue;
        try {
          await svc.removeNetwork(n.id);
          removed.push(n.name);
        } catch (e) {
          // a container joined since the listing: the network is in use, not prunable
          if (!(e instanceof NetworkingError && e.code === 'in-use')) throw e;
        }
      }
      return { removed };
    }),
  };
  return { definition: networking.NetworksService, handlers };
}

// berth.images.v1.Leases over the core's lease manager.
import { images } from '@berth/api';
import type { ImagesCore } from '../core.js';
import { invalidArgument } from '../errors.js';
import type { Lease, LeaseResource } from '../leases.js';
import { digestArg } from './content.js';
import { leaseResourceToProto, leaseToProto } from './convert.js';
import { compileFilters } from './filters.js';
import type { Handlers } from './handlers.js';

export function leasesService(core: ImagesCore, h: Handlers): images.LeasesServer {
  return {
    createLease: h.unary((req) => {
      if (!Number.isSafeInteger(req.ttlSeconds) || req.ttlSeconds < 0) {
        throw invalidArgument(`CreateLease: ttl_seconds ${req.ttlSeconds} is not a whole number of seconds >= 0`);
      }
      const lease = core.leases.create({
        ...(req.id !== '' ? { id: req.id } : {}),
        labels: req.labels,
        ...(req.ttlSeconds > 0 ? { ttlMs: req.ttlSeconds * 1000 } : {}),
      });
      return images.CreateLeaseResponse.fromPartial({ lease: leaseToProto(lease) });
    }),

    deleteLease: h.unary((req) => {
      core.leases.delete(leaseId(req.id));
      if (req.sync) core.gc();
      return images.DeleteLeaseResponse.fromPartial({});
    }),

    listLeases: h.unary((req) => {
      const matches = compileFilters<Lease>(req.filters, { fields: { id: (l) => l.id }, globs: ['id'], labels: (l) => l.labels });
      const leases = core.leases
        .list()
        .filter(matches)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return images.ListLeasesResponse.fromPartial({ leases: leases.map(leaseToProto) });
    }),

    addLeaseResource: h.unary((req) => {
      core.leases.addResource(leaseId(req.id), resourceArg(req.resource));
      return images.AddLeaseResourceResponse.fromPartial({});
    }),

    deleteLeaseResource: h.unary((req) => {
      const id = leaseId(req.id);
      core.leases.get(id); // NOT_FOUND for an unknown lease rather than a silent no-op
      core.leases.removeResource(id, resourceArg(req.resource));
      return images.DeleteLeaseResourceResponse.fromPartial({});
    }),

    listLeaseResources: h.unary((req) =>
      images.ListLeaseResourcesResponse.fromPartial({ resources: core.leases.resources(leaseId(req.id)).map(leaseResourceToProto) }),
    ),
  };
}

function leaseId(id: string): string {
  if (id === '') throw invalidArgument('lease id is required');
  return id;
}

/** A lease resource from a request: "content" by digest or "ingest" by ref. */
function resourceArg(r: images.LeaseResource | undefined): LeaseResource {
  if (!r) throw invalidArgument('resource is required');
  if (r.type === 'content') return { kind: 'content', id: digestArg(r.id) };
  if (r.type === 'ingest') {
    if (r.id === '') throw invalidArgument('resource id (an ingest ref) is required');
    return { kind: 'ingest', id: r.id };
  }
  throw invalidArgument(`resource type ${JSON.stringify(r.type)} is not "content" or "ingest"`);
}

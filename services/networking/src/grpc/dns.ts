// berth.networking.v1.Dns: containers' name files and name resolution.
import { networking } from '@berth/api';
import type { ServiceRegistration } from '@berth/service-kit';
import { NetworkingError } from '../errors.js';
import type { ContainerFilesOptions } from '../names/container-files.js';
import type { ContainerFilesStore } from '../names/files-store.js';
import type { NetworkingService } from '../service.js';
import type { Rpc } from './handler.js';

function optionsFromProto(req: networking.PrepareContainerDnsRequest): ContainerFilesOptions {
  const o: ContainerFilesOptions = {};
  if (req.hostname !== '') o.hostname = req.hostname;
  if (req.domainname !== '') o.domainname = req.domainname;
  if (req.extraHosts.length > 0) o.extraHosts = req.extraHosts;
  if (req.dns?.servers.length) o.dns = req.dns.servers;
  if (req.dns?.search.length) o.dnsSearch = req.dns.search;
  if (req.dns?.options.length) o.dnsOptions = req.dns.options;
  return o;
}

/**
 * Rebuilds a container's prepared files after its attachments changed;
 * nothing to do when none were prepared or it has no attachments left.
 */
export function refreshContainerFiles(svc: NetworkingService, store: ContainerFilesStore, containerId: string): void {
  const request = store.requestOf(containerId);
  if (!request) return;
  let files;
  try {
    files = svc.containerFiles(containerId, request.options, { hostNetwork: request.hostNetwork });
  } catch (e) {
    if (e instanceof NetworkingError && e.code === 'not-found') return;
    throw e;
  }
  store.rewrite(containerId, files);
}

export function dnsRegistration(svc: NetworkingService, store: ContainerFilesStore, rpc: Rpc): ServiceRegistration {
  const handlers: networking.DnsServer = {
    prepareContainerDns: rpc<networking.PrepareContainerDnsRequest, networking.PrepareContainerDnsResponse>(async (req) => {
      const request = { options: optionsFromProto(req), hostNetwork: req.hostNetwork };
      const files = svc.containerFiles(req.containerId, request.options, { hostNetwork: request.hostNetwork });
      const paths = store.prepare(req.containerId, request, files);
      return { hostsPath: paths.hosts, hostnamePath: paths.hostname, resolvConfPath: paths.resolvConf };
    }),
    removeContainerDns: rpc<networking.RemoveContainerDnsRequest, networking.RemoveContainerDnsResponse>(async (req) => {
      store.remove(req.containerId);
      return {};
    }),
    resolveName: rpc<networking.ResolveNameRequest, networking.ResolveNameResponse>(async (req) => {
      const containers = svc.resolveName(req.network, req.name);
      if (containers.length === 0) throw new NetworkingError('not-found', `no container answers to "${req.name}" on network "${req.network}"`);
      return { containers };
    }),
  };
  return { definition: networking.DnsService, handlers };
}

// The networking service as the service kit runs it: the core, driving CNI
// through the node agent, behind the Networks, Attachments and Dns APIs, its
// events on NATS.
import { join } from 'node:path';
import { agent } from '@berth/api';
import { createClient, packageVersion, peerAddress, type ServiceContext, type ServiceSetup, type ServiceSpec } from '@berth/service-kit';
import { agentCniExecutor } from './agent-executor.js';
import { networkingConfigSchema, type NetworkingConfig } from './config.js';
import { EventPublisher } from './events.js';
import { attachmentsRegistration } from './grpc/attachments.js';
import { dnsRegistration } from './grpc/dns.js';
import { createRpc } from './grpc/handler.js';
import { networksRegistration } from './grpc/networks.js';
import { ContainerFilesStore } from './names/files-store.js';
import { NetworkingService, type NetworkingServiceOptions } from './service.js';

function coreOptions(ctx: ServiceContext<NetworkingConfig>): Omit<NetworkingServiceOptions, 'executor' | 'onEvent'> {
  const c = ctx.config;
  const d = c.defaultNetwork;
  return {
    stateDir: ctx.paths.stateDir,
    node: c.node,
    ...(c.ipamDir ? { ipamDir: c.ipamDir } : {}),
    defaultNetwork: {
      bridge: d.bridge,
      ...(d.subnet ? { subnet: d.subnet } : {}),
      ...(d.gateway ? { gateway: d.gateway } : {}),
      ...(d.ipRange ? { ipRange: d.ipRange } : {}),
    },
    subnetPools: c.subnetPools,
    defaultHostIp: c.defaultHostIp,
    dns: { enabled: c.dns.enabled, port: c.dns.port, ...(c.dns.upstreams ? { upstreams: c.dns.upstreams } : {}) },
    hostResolvConfPath: c.hostResolvConfPath,
    hostHostsPath: c.hostHostsPath,
    logger: ctx.logger,
  };
}

async function setup(ctx: ServiceContext<NetworkingConfig>): Promise<ServiceSetup> {
  const c = ctx.config;
  const address = peerAddress('agent', c);
  const cni = createClient(agent.CniClient, address);
  const netns = createClient(agent.NetnsClient, address);
  const closeClients = () => {
    cni.close();
    netns.close();
  };
  const executor = agentCniExecutor({ cni, netns, address, callTimeoutMs: c.agent.callTimeoutMs });
  const events = new EventPublisher(ctx.bus, c.namespace, ctx.logger);
  let svc: NetworkingService;
  try {
    svc = await NetworkingService.open({ ...coreOptions(ctx), executor, onEvent: (e) => events.emit(e) });
  } catch (err) {
    closeClients();
    throw err;
  }
  const files = new ContainerFilesStore(join(ctx.paths.stateDir, 'containers'));
  const rpc = createRpc({ events, defaultNamespace: c.namespace, logger: ctx.logger });
  return {
    services: [
      networksRegistration(svc, rpc),
      attachmentsRegistration({ svc, files, logger: ctx.logger, embeddedDns: c.dns.enabled }, rpc),
      dnsRegistration(svc, files, rpc),
    ],
    close: async () => {
      await events.drain();
      await svc.close();
      closeClients();
    },
  };
}

export const networkingServiceSpec: ServiceSpec<typeof networkingConfigSchema> = {
  name: 'networking',
  version: packageVersion(import.meta.url),
  configSchema: networkingConfigSchema,
  setup,
};

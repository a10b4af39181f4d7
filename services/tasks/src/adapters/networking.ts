// NetworkingPort over the networking service's Attachments and Dns APIs.
import { networking } from '@berth/api';
import { createClient } from '@berth/service-kit';
import { internal, isNotFound } from '../errors.js';
import type { Attachment, AttachRequest, DnsRequest, NetworkingPort, NetworkReconcileResult } from '../ports.js';
import type { NameFiles } from '@berth/runtime-spec';
import { callUnary, type Peer } from './grpc-call.js';

/** A reconcile walks every attachment, netns and name file of the node: minutes, not the call timeout. */
const RECONCILE_TIMEOUT_MS = 5 * 60_000;

function attachmentFrom(a: networking.Attachment): Attachment {
  const inside = a.interfaces.find((i) => i.name === a.interfaceName && i.sandbox !== '') ?? a.interfaces.find((i) => i.sandbox !== '');
  return {
    network: a.network,
    interfaceName: a.interfaceName,
    ips: a.ips.map((ip) => ({ address: ip.address, gateway: ip.gateway })),
    macAddress: inside?.macAddress ?? '',
    ports: a.ports,
  };
}

export class GrpcNetworking implements NetworkingPort {
  private readonly attachments: networking.AttachmentsClient;
  private readonly dns: networking.DnsClient;
  private readonly peer: Peer;

  constructor(
    address: string,
    private readonly timeoutMs: number,
  ) {
    this.attachments = createClient(networking.AttachmentsClient, address);
    this.dns = createClient(networking.DnsClient, address);
    this.peer = { name: 'networking service', address };
  }

  async attach(namespace: string, req: AttachRequest): Promise<Attachment> {
    const res = await callUnary(this.peer, this.attachments.attachContainer.bind(this.attachments), req, { namespace, timeoutMs: this.timeoutMs });
    if (!res.attachment) throw internal(`the networking service attached ${req.containerId} without describing the attachment`);
    return attachmentFrom(res.attachment);
  }

  async detach(namespace: string, containerId: string, network?: string): Promise<void> {
    await callUnary(
      this.peer,
      this.attachments.detachContainer.bind(this.attachments),
      { containerId, network: network ?? '', ignoreMissing: true },
      { namespace, timeoutMs: this.timeoutMs },
    );
  }

  async prepareDns(namespace: string, req: DnsRequest): Promise<NameFiles> {
    const res = await callUnary(this.peer, this.dns.prepareContainerDns.bind(this.dns), req, { namespace, timeoutMs: this.timeoutMs });
    return { hostsPath: res.hostsPath, hostnamePath: res.hostnamePath, resolvConfPath: res.resolvConfPath };
  }

  async removeDns(namespace: string, containerId: string): Promise<void> {
    try {
      await callUnary(this.peer, this.dns.removeContainerDns.bind(this.dns), { containerId }, { namespace, timeoutMs: this.timeoutMs });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async reconcile(namespace: string, liveContainerIds: string[], node: string): Promise<NetworkReconcileResult> {
    const res = await callUnary(
      this.peer,
      this.attachments.reconcileAttachments.bind(this.attachments),
      { liveContainerIds, node },
      { namespace, timeoutMs: Math.max(this.timeoutMs, RECONCILE_TIMEOUT_MS) },
    );
    return {
      released: res.released.map((a) => `${a.containerId}/${a.network}`),
      netnsRemoved: res.netnsRemoved,
      nameFilesRemoved: res.nameFilesRemoved,
      failures: res.failures.map((f) => ({ containerId: f.containerId, network: f.network, resource: f.resource, error: f.error })),
    };
  }

  close(): void {
    this.attachments.close();
    this.dns.close();
  }
}

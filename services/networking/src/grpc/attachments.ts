// berth.networking.v1.Attachments over the core (whose executor is the node agent), with the leak cleanup after crashes.
import * as grpc from '@grpc/grpc-js';
import { networking, types } from '@berth/api';
import { validateContainerId } from '@berth/cni';
import type { ServiceRegistration } from '@berth/service-kit';
import { AgentCallError } from '../agent-executor.js';
import { NetworkingError, asInvalid } from '../errors.js';
import type { ContainerFilesStore } from '../names/files-store.js';
import type { Attachment } from '../network-model.js';
import type { NetworkingService } from '../service.js';
import { attachmentToProto, attachRequestFromProto } from './convert.js';
import { refreshContainerFiles } from './dns.js';
import { anyOf, parseFilters } from './filters.js';
import type { Rpc } from './handler.js';

export interface AttachmentsDeps {
  svc: NetworkingService;
  files: ContainerFilesStore;
  logger: { error(obj: object, msg: string): void };
  /** Whether user networks offer the embedded DNS server (reported as the attachment's resolver). */
  embeddedDns: boolean;
}

export function attachmentsRegistration(deps: AttachmentsDeps, rpc: Rpc): ServiceRegistration {
  const { svc, files } = deps;

  const dnsOf = (a: Attachment): types.DnsConfig | undefined => {
    const net = svc.getNetwork(a.networkId);
    if (!deps.embeddedDns || !net.dns) return undefined;
    return types.DnsConfig.fromPartial({ servers: net.subnets.map((s) => s.gateway) });
  };
  // The attach or detach has happened by then: a file that could not be
  // rewritten is logged, not reported as a failure of the call.
  const refreshFiles = (containerId: string) => {
    try {
      refreshContainerFiles(svc, files, containerId);
    } catch (err) {
      deps.logger.error({ err, containerId }, `rewriting the name files of container ${containerId} failed`);
    }
  };
  const toProto = (a: Attachment, result = svc.cniResultOf(a.containerId, a.networkId)) =>
    attachmentToProto(a, { result, dns: dnsOf(a) });

  const handlers: networking.AttachmentsServer = {
    attachContainer: rpc<networking.AttachContainerRequest, networking.AttachContainerResponse>(async (req) => {
      const a = await svc.attach(attachRequestFromProto(req));
      refreshFiles(a.containerId);
      return { attachment: toProto(a) };
    }),
    detachContainer: rpc<networking.DetachContainerRequest, networking.DetachContainerResponse>(async (req) => {
      const network = req.network === '' ? undefined : req.network;
      let targets: Attachment[];
      try {
        targets = svc.listAttachments({ containerId: req.containerId, ...(network === undefined ? {} : { network }) });
      } catch (e) {
        if (req.ignoreMissing && e instanceof NetworkingError && e.code === 'not-found') return { detached: [] };
        throw e;
      }
      if (targets.length === 0) {
        if (req.ignoreMissing) return { detached: [] };
        const where = network === undefined ? 'any network' : `network "${network}"`;
        throw new NetworkingError('not-found', `container ${req.containerId} is not attached to ${where}`);
      }
      // the records go with the detach: keep their CNI results for the answer
      const results = new Map(targets.map((a) => [a.networkId, svc.cniResultOf(a.containerId, a.networkId)]));
      const dns = new Map(targets.map((a) => [a.networkId, dnsOf(a)]));
      const detached = await svc.detach(req.containerId, network);
      refreshFiles(req.containerId);
      return { detached: detached.map((a) => attachmentToProto(a, { result: results.get(a.networkId), dns: dns.get(a.networkId) })) };
    }),
    listAttachments: rpc<networking.ListAttachmentsRequest, networking.ListAttachmentsResponse>(async (req) => {
      const f = parseFilters(req.filters, ['container', 'network', 'node']);
      const attachments = svc
        .listAttachments()
        .filter(
          (a) =>
            anyOf(f, 'container', (v) => a.containerId.startsWith(v) || a.containerName === v) &&
            anyOf(f, 'network', (v) => a.networkName === v || a.networkId.startsWith(v)) &&
            anyOf(f, 'node', (v) => a.node === v),
        )
        .map((a) => toProto(a));
      return { attachments };
    }),
    checkAttachments: rpc<networking.CheckAttachmentsRequest, networking.CheckAttachmentsResponse>(async (req) => {
      const network = req.network === '' ? undefined : req.network;
      const targets = svc.listAttachments({ containerId: req.containerId, ...(network === undefined ? {} : { network }) });
      if (targets.length === 0) {
        const where = network === undefined ? 'any network' : `network "${network}"`;
        throw new NetworkingError('not-found', `container ${req.containerId} is not attached to ${where}`);
      }
      const checks: networking.AttachmentCheck[] = [];
      for (const a of targets) {
        try {
          await svc.check(a.containerId, a.networkId);
          checks.push({ network: a.networkName, ok: true, error: '' });
        } catch (e) {
          // an unreachable agent checked nothing: that is no verdict on the attachment
          if (e instanceof AgentCallError && (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED)) throw e;
          checks.push({ network: a.networkName, ok: false, error: (e as Error).message });
        }
      }
      return { checks };
    }),
    reconcileAttachments: rpc<networking.ReconcileAttachmentsRequest, networking.ReconcileAttachmentsResponse>(async (req) => {
      if (req.node !== '' && req.node !== svc.node) {
        throw new NetworkingError(
          'failed-precondition',
          `this networking service keeps the attachments of node "${svc.node}", not "${req.node}": reconcile node "${req.node}" through its own networking service`,
        );
      }
      for (const id of req.liveContainerIds) asInvalid(() => validateContainerId(id));
      const live = new Set(req.liveContainerIds);
      const report = await svc.reconcile(live);
      const failures: networking.ReconcileFailure[] = report.failures.map((f) => ({
        containerId: f.containerId,
        network: f.network ?? '',
        resource: f.resource,
        error: f.error,
      }));
      const nameFilesRemoved: string[] = [];
      for (const id of files.containerIds()) {
        if (live.has(id)) continue;
        try {
          files.remove(id);
          nameFilesRemoved.push(id);
        } catch (e) {
          failures.push({ containerId: id, network: '', resource: 'name files', error: (e as Error).message });
        }
      }
      return {
        released: report.released.map((r) => attachmentToProto(r.attachment, { result: r.result, dns: dnsOf(r.attachment) })),
        netnsRemoved: report.netnsRemoved,
        nameFilesRemoved,
        failures,
      };
    }),
  };
  return { definition: networking.AttachmentsService, handlers };
}

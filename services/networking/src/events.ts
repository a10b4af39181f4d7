// The service's events on NATS: networks.created/removed/attached/detached
// (payloads from proto/berth/events/v1), each published durably on the
// namespace of the request that caused it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { eventPayloads, events, types, type EventType } from '@berth/api';
import type { Bus } from '@berth/bus';
import type { NetworkingEvent } from './service.js';
import { protocolToProto } from './grpc/convert.js';

export interface BusEvent {
  type: EventType;
  /** The payload message in its JSON form, as the envelope carries it. */
  payload: unknown;
}

/** The bus event for a core event. */
export function busEventOf(event: NetworkingEvent): BusEvent {
  switch (event.type) {
    case 'network.created': {
      const n = event.network;
      const subnet = n.subnets.find((s) => !s.subnet.includes(':')) ?? n.subnets[0];
      const msg = events.NetworkCreated.fromPartial({ id: n.id, name: n.name, driver: n.driver, subnet: subnet?.subnet ?? '' });
      return { type: 'networks.created', payload: eventPayloads['networks.created'].toJSON(msg) };
    }
    case 'network.removed': {
      const msg = events.NetworkRemoved.fromPartial({ id: event.network.id, name: event.network.name });
      return { type: 'networks.removed', payload: eventPayloads['networks.removed'].toJSON(msg) };
    }
    case 'container.attached': {
      const a = event.attachment;
      const msg = events.NetworkAttached.fromPartial({
        containerId: a.containerId,
        network: a.networkName,
        addresses: a.ips,
        ports: a.ports.map((p) =>
          types.PortMapping.fromPartial({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort, protocol: protocolToProto(p.protocol) }),
        ),
      });
      return { type: 'networks.attached', payload: eventPayloads['networks.attached'].toJSON(msg) };
    }
    case 'container.detached': {
      const msg = events.NetworkDetached.fromPartial({ containerId: event.attachment.containerId, network: event.attachment.networkName });
      return { type: 'networks.detached', payload: eventPayloads['networks.detached'].toJSON(msg) };
    }
  }
}

interface Scope {
  namespace: string;
  pending: Promise<void>[];
}

export interface EventLogger {
  error(obj: object, msg: string): void;
}

/**
 * Publishes the core's events. The core reports them synchronously from
 * inside a request; the request's namespace reaches the publisher through an
 * AsyncLocalStorage scope, and a request finishes only once its events are
 * stored (or their failure logged: the change itself has happened by then).
 */
export class EventPublisher {
  private readonly scope = new AsyncLocalStorage<Scope>();
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly bus: Pick<Bus, 'publish'>,
    private readonly defaultNamespace: string,
    private readonly logger: EventLogger,
  ) {}

  /** Hands an event to the bus; namespace from the current request, else the configured one. */
  emit(event: NetworkingEvent): void {
    const scope = this.scope.getStore();
    const namespace = scope?.namespace ?? this.defaultNamespace;
    const { type, payload } = busEventOf(event);
    const done = this.bus.publish(namespace, type, payload, { durable: true }).then(
      () => undefined,
      (err: unknown) => this.logger.error({ err, type, namespace, payload }, `networking event ${type} was not published`),
    );
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
    scope?.pending.push(done);
  }

  /** Runs a request with its namespace; resolves after the events it caused are published. */
  async inScope<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
    const scope: Scope = { namespace, pending: [] };
    try {
      return await this.scope.run(scope, fn);
    } finally {
      await Promise.all(scope.pending);
    }
  }

  /** Waits for every publish still in flight (before the bus closes). */
  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
  }
}

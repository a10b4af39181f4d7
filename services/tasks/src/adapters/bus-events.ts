// EventSink over the bus. A durable event with an id (from the outbox) keeps
// that id as its envelope id and Nats-Msg-Id, so a resend after a crash is
// dropped by the server's duplicate window.
import type { Bus } from '@berth/bus';
import type { EventSink } from '../ports.js';

export class BusEventSink implements EventSink {
  constructor(private readonly bus: Bus) {}

  async publish(namespace: string, type: string, payload: unknown, options: { durable: boolean; id?: string }): Promise<void> {
    await this.bus.publish(namespace, type, payload, {
      durable: options.durable,
      ...(options.id !== undefined ? { id: options.id } : {}),
    });
  }
}

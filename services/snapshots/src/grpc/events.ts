import { eventPayloads, events, type EventPayload, type EventType } from '@berth/api';
import type { Bus } from '@berth/bus';
import type { Logger } from '@berth/telemetry';

/**
 * snapshots.committed and snapshots.removed, published durably (JetStream
 * confirms the store before the RPC answers). The change is already done
 * when the event is published, so a failed publish is logged with the whole
 * event rather than failing the RPC.
 */
export class SnapshotEvents {
  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly snapshotter: string,
  ) {}

  committed(namespace: string, e: { name: string; key: string; parent?: string | undefined }): Promise<void> {
    return this.publish(
      namespace,
      'snapshots.committed',
      events.SnapshotCommitted.fromPartial({ snapshotter: this.snapshotter, name: e.name, key: e.key, parent: e.parent ?? '' }),
    );
  }

  removed(namespace: string, key: string): Promise<void> {
    return this.publish(namespace, 'snapshots.removed', events.SnapshotRemoved.fromPartial({ snapshotter: this.snapshotter, key }));
  }

  private async publish<T extends EventType>(namespace: string, type: T, payload: EventPayload<T>): Promise<void> {
    const json = eventPayloads[type].toJSON(payload);
    try {
      await this.bus.publish(namespace, type, json, { durable: true });
    } catch (err) {
      this.logger.error({ err, type, namespace, payload: json }, `publishing ${type} failed; the snapshot change itself is done`);
    }
  }
}

// Logs what happens to the connection: the client reconnects on its own,
// an operator needs to see that it did.
import type { Logger } from '@berth/telemetry';
import { DebugEvents, Events, type NatsConnection } from 'nats';

export function logConnectionStatus(nc: NatsConnection, log: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case Events.Disconnect:
          log.warn({ server: status.data }, 'disconnected from NATS; reconnecting');
          break;
        case Events.Reconnect:
          log.info({ server: status.data }, 'reconnected to NATS');
          break;
        case Events.LDM:
          log.warn({ server: status.data }, 'NATS server is entering lame duck mode; will move to another server');
          break;
        case Events.Error:
          log.error({ error: status.data }, 'NATS connection error');
          break;
        case DebugEvents.StaleConnection:
          log.warn({ server: status.data }, 'NATS connection is stale');
          break;
        case DebugEvents.Reconnecting:
          log.debug({ server: status.data }, 'trying to reconnect to NATS');
          break;
        default:
          log.debug({ status: status.type, data: status.data }, 'NATS connection status');
      }
    }
  })().catch(() => undefined);
  void nc.closed().then((err) => {
    if (err) log.error({ err }, 'NATS connection closed with an error');
    else log.info('NATS connection closed');
  });
}

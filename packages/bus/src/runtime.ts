// What the bus operations share: one connection, who we are, where we log and trace.
import type { Logger, Tracer } from '@berth/telemetry';
import type { NatsConnection } from 'nats';

export interface BusRuntime {
  nc: NatsConnection;
  service: string;
  node: string;
  log: Logger;
  tracer: Tracer;
}

/** Stops a subscription; messages already received are still handled. */
export type Unsubscribe = () => void;

/** Semantic-convention attributes of a messaging span. */
export function messagingAttributes(operation: string, subject: string): Record<string, string> {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': operation,
    'messaging.destination.name': subject,
  };
}

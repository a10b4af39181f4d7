// The node heartbeat: an event envelope of type nodes.heartbeat (payload the
// berth.events.v1.NodeHeartbeat message in proto3 JSON) published on
// berth.node.<node>.heartbeat, once at start, then every interval and
// whenever a tasks service that just started asks for one. Core NATS, not
// stored: a missed beat is superseded by the next one, and a node that stops
// beating is what the tasks service watches for.
import { eventPayloads, events, types } from '@berth/api';
import { encodeEnvelope, HEARTBEAT_REQUEST_SUBJECT, heartbeatSubject, makeEnvelope, type Bus } from '@berth/bus';

interface Logger {
  warn(obj: object, msg: string): void;
}

export interface HeartbeatFacts {
  nodeId: string;
  hostname: string;
  namespace: string;
  agentAddress: string;
  intervalMs: number;
  versions: Record<string, string>;
  capacity: types.NodeCapacity;
  /** Counts the running containers now. */
  runningContainers(): Promise<number>;
}

/** The heartbeat payload for a count of running containers (pure). */
export function heartbeatPayload(f: HeartbeatFacts, runningContainers: number): events.NodeHeartbeat {
  return events.NodeHeartbeat.fromPartial({
    nodeId: f.nodeId,
    hostname: f.hostname,
    capacity: f.capacity,
    runningContainers,
    versions: f.versions,
    intervalSeconds: Math.max(1, Math.ceil(f.intervalMs / 1000)),
    agentAddress: f.agentAddress,
  });
}

export interface Heartbeat {
  /** Publishes one heartbeat now. */
  beat(): Promise<void>;
  stop(): void;
}

/** How long a beat waits for a fresh count before it goes out with the last one. */
export const COUNT_WAIT_MS = 500;

/**
 * Beats every interval, whatever the runtime is doing: the count of running
 * containers (runc list, slow while many containers start at once) is
 * awaited only briefly, and a beat that cannot wait carries the last count.
 * A beat that waited for the count would stop beating under load, and the
 * tasks service would take the node for lost.
 */
export function startHeartbeat(bus: Pick<Bus, 'connection' | 'service'>, facts: HeartbeatFacts, logger: Logger): Heartbeat {
  const subject = heartbeatSubject(facts.nodeId);
  let lastCount = 0;
  let counting: Promise<void> | undefined;
  const refreshCount = (): Promise<void> =>
    (counting ??= facts
      .runningContainers()
      .then((n) => {
        lastCount = n;
      })
      .catch((err: unknown) => logger.warn({ err }, 'cannot count the running containers; the heartbeat carries the last count'))
      .finally(() => {
        counting = undefined;
      }));
  const beat = async (): Promise<void> => {
    let waited: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([refreshCount(), new Promise<void>((resolve) => (waited = setTimeout(resolve, COUNT_WAIT_MS)))]);
    clearTimeout(waited);
    try {
      const payload = eventPayloads['nodes.heartbeat'].toJSON(heartbeatPayload(facts, lastCount));
      const envelope = makeEnvelope({ namespace: facts.namespace, type: 'nodes.heartbeat', source: bus.service, node: facts.nodeId, payload });
      bus.connection.publish(subject, encodeEnvelope(envelope));
    } catch (err) {
      logger.warn({ err, subject }, 'cannot publish the heartbeat');
    }
  };
  const timer = setInterval(() => void beat(), facts.intervalMs);
  timer.unref();
  const requests = bus.connection.subscribe(HEARTBEAT_REQUEST_SUBJECT, { callback: () => void beat() });
  void beat();
  return {
    beat,
    stop: () => {
      clearInterval(timer);
      requests.unsubscribe();
    },
  };
}

// The node heartbeat: an event envelope of type nodes.heartbeat (payload the
// berth.events.v1.NodeHeartbeat message in proto3 JSON) published on
// berth.node.<node>.heartbeat, once at start and then every interval. Core
// NATS, not stored: a missed beat is superseded by the next one, and a node
// that stops beating is what the tasks service watches for.
import { eventPayloads, events, types } from '@berth/api';
import { encodeEnvelope, heartbeatSubject, makeEnvelope, type Bus } from '@berth/bus';

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

/** The heartbeat payload (pure but for the count). */
export async function heartbeatPayload(f: HeartbeatFacts): Promise<events.NodeHeartbeat> {
  return events.NodeHeartbeat.fromPartial({
    nodeId: f.nodeId,
    hostname: f.hostname,
    capacity: f.capacity,
    runningContainers: await f.runningContainers(),
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

export function startHeartbeat(bus: Pick<Bus, 'connection' | 'service'>, facts: HeartbeatFacts, logger: Logger): Heartbeat {
  const subject = heartbeatSubject(facts.nodeId);
  let busy = false;
  const beat = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const payload = eventPayloads['nodes.heartbeat'].toJSON(await heartbeatPayload(facts));
      const envelope = makeEnvelope({ namespace: facts.namespace, type: 'nodes.heartbeat', source: bus.service, node: facts.nodeId, payload });
      bus.connection.publish(subject, encodeEnvelope(envelope));
    } catch (err) {
      logger.warn({ err, subject }, 'cannot publish the heartbeat');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void beat(), facts.intervalMs);
  timer.unref();
  void beat();
  return { beat, stop: () => clearInterval(timer) };
}

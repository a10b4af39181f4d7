// The nodes the tasks service knows from their agents' heartbeats: persisted,
// listed through the Nodes API, and marked unavailable when silent for
// `missedBeats` heartbeat intervals.
import type { Store } from '@berth/store';
import { tasks, timestampFromDate, type events, type types } from '@berth/api';
import { invalidArgument, notFound } from '../errors.js';

export type NodeChange = 'registered' | 'ready' | 'unavailable';

export interface NodeRecord {
  id: string;
  hostname: string;
  agentAddress: string;
  capacity: types.NodeCapacity;
  versions: Record<string, string>;
  labels: Record<string, string>;
  runningContainers: number;
  intervalSeconds: number;
  registeredAt: number;
  lastHeartbeatAt: number;
  state: 'ready' | 'unavailable';
}

export interface NodeRegistryOptions {
  /** Interval assumed when a heartbeat does not say (seconds). */
  defaultIntervalSeconds: number;
  /** Silent intervals after which a node is unavailable. */
  missedBeats: number;
  now?: () => number;
  /** Called after a node registers, becomes ready again, or becomes unavailable. */
  onChange?: (node: NodeRecord, change: NodeChange) => void;
}

interface Row {
  id: string;
  hostname: string;
  agent_address: string;
  capacity_json: string;
  versions_json: string;
  labels_json: string;
  running_containers: number;
  interval_seconds: number;
  registered_at: number;
  last_heartbeat_at: number;
  state: string;
}

const fromRow = (r: Row): NodeRecord => ({
  id: r.id,
  hostname: r.hostname,
  agentAddress: r.agent_address,
  capacity: JSON.parse(r.capacity_json),
  versions: JSON.parse(r.versions_json),
  labels: JSON.parse(r.labels_json),
  runningContainers: r.running_containers,
  intervalSeconds: r.interval_seconds,
  registeredAt: r.registered_at,
  lastHeartbeatAt: r.last_heartbeat_at,
  state: r.state === 'unavailable' ? 'unavailable' : 'ready',
});

const NODE_FILTER_KEYS = ['id', 'state', 'label'];

export class NodeRegistry {
  private readonly now: () => number;

  constructor(
    private readonly db: Store,
    private readonly options: NodeRegistryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Takes a heartbeat (or first registration) from a node's agent. */
  heartbeat(hb: events.NodeHeartbeat): NodeRecord {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(hb.nodeId)) throw invalidArgument(`invalid node id ${JSON.stringify(hb.nodeId)} in heartbeat`);
    const now = this.now();
    const before = this.get(hb.nodeId);
    const node: NodeRecord = {
      id: hb.nodeId,
      hostname: hb.hostname,
      agentAddress: hb.agentAddress,
      capacity: hb.capacity ?? { cpus: 0, memoryBytes: 0, pids: 0 },
      versions: { ...hb.versions },
      labels: before?.labels ?? {},
      runningContainers: hb.runningContainers,
      intervalSeconds: hb.intervalSeconds > 0 ? hb.intervalSeconds : this.options.defaultIntervalSeconds,
      registeredAt: before?.registeredAt ?? now,
      lastHeartbeatAt: now,
      state: 'ready',
    };
    this.db
      .prepare(
        `INSERT INTO nodes (id, hostname, agent_address, capacity_json, versions_json, labels_json, running_containers,
                            interval_seconds, registered_at, last_heartbeat_at, state)
         VALUES (@id, @hostname, @agent_address, @capacity_json, @versions_json, @labels_json, @running_containers,
                 @interval_seconds, @registered_at, @last_heartbeat_at, @state)
         ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, agent_address = excluded.agent_address,
           capacity_json = excluded.capacity_json, versions_json = excluded.versions_json,
           running_containers = excluded.running_containers, interval_seconds = excluded.interval_seconds,
           last_heartbeat_at = excluded.last_heartbeat_at, state = excluded.state`,
      )
      .run({
        id: node.id,
        hostname: node.hostname,
        agent_address: node.agentAddress,
        capacity_json: JSON.stringify(node.capacity),
        versions_json: JSON.stringify(node.versions),
        labels_json: JSON.stringify(node.labels),
        running_containers: node.runningContainers,
        interval_seconds: node.intervalSeconds,
        registered_at: node.registeredAt,
        last_heartbeat_at: node.lastHeartbeatAt,
        state: node.state,
      });
    if (!before) this.options.onChange?.(node, 'registered');
    else if (before.state === 'unavailable') this.options.onChange?.(node, 'ready');
    return node;
  }

  /** Marks nodes silent for too long unavailable; returns those that changed. */
  sweep(): NodeRecord[] {
    const now = this.now();
    const changed: NodeRecord[] = [];
    for (const node of this.all()) {
      if (node.state !== 'ready') continue;
      if (now - node.lastHeartbeatAt > node.intervalSeconds * 1000 * this.options.missedBeats) {
        this.db.prepare(`UPDATE nodes SET state = 'unavailable' WHERE id = ?`).run(node.id);
        const down = { ...node, state: 'unavailable' as const };
        changed.push(down);
        this.options.onChange?.(down, 'unavailable');
      }
    }
    return changed;
  }

  get(id: string): NodeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM nodes WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  all(): NodeRecord[] {
    return (this.db.prepare('SELECT * FROM nodes ORDER BY id').all() as Row[]).map(fromRow);
  }

  /** False only for a node that registered and then fell silent. */
  isAvailable(id: string): boolean {
    return this.get(id)?.state !== 'unavailable';
  }

  /** Nodes matching filters (id, state=ready|unavailable, label=KEY[=VALUE]), ordered by id. */
  list(filters: readonly string[]): NodeRecord[] {
    const byKey = new Map<string, string[]>();
    for (const f of filters) {
      const eq = f.indexOf('=');
      const key = eq < 0 ? f : f.slice(0, eq);
      const value = eq < 0 ? '' : f.slice(eq + 1);
      if (!NODE_FILTER_KEYS.includes(key)) {
        throw invalidArgument(`invalid filter ${JSON.stringify(f)}: unknown key "${key}"; known keys: ${NODE_FILTER_KEYS.join(', ')}`);
      }
      if (value === '') throw invalidArgument(`invalid filter ${JSON.stringify(f)}: expected ${key}=VALUE`);
      if (key === 'state' && value !== 'ready' && value !== 'unavailable') {
        throw invalidArgument(`invalid filter ${JSON.stringify(f)}: state must be ready or unavailable`);
      }
      byKey.set(key, [...(byKey.get(key) ?? []), value]);
    }
    return this.all().filter((n) =>
      [...byKey].every(([key, values]) =>
        values.some((v) => {
          if (key === 'id') return n.id === v;
          if (key === 'state') return n.state === v;
          const eq = v.indexOf('=');
          return eq < 0 ? Object.hasOwn(n.labels, v) : n.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }),
      ),
    );
  }

  /** One node, or NOT_FOUND. */
  require(id: string): NodeRecord {
    const node = this.get(id);
    if (!node) throw notFound(`no such node: ${id}`);
    return node;
  }
}

/** A node record as the Nodes API returns it. */
export function nodeMessage(node: NodeRecord): tasks.Node {
  return {
    id: node.id,
    hostname: node.hostname,
    state: node.state === 'ready' ? tasks.NodeState.READY : tasks.NodeState.UNAVAILABLE,
    capacity: node.capacity,
    runningContainers: node.runningContainers,
    versions: node.versions,
    labels: node.labels,
    registeredAt: timestampFromDate(new Date(node.registeredAt)),
    lastHeartbeatAt: timestampFromDate(new Date(node.lastHeartbeatAt)),
    agentAddress: node.agentAddress,
  };
}

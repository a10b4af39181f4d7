// Bus events as `events` shows and filters them. Pure: works on decoded envelopes.
import { UsageError } from '../output.js';
import type { Filter } from '../parse/filters.js';

/** What `events` needs of an envelope (see @berth/bus EventEnvelope). */
export interface EventView {
  type: string;
  source: string;
  node: string;
  namespace: string;
  time: string;
  payload: unknown;
}

export const EVENT_FILTER_KEYS = ['type', 'event', 'container', 'image', 'network', 'node', 'source'] as const;

/** Docker's object types to berth's event type prefixes. */
const OBJECT_TYPES: Record<string, string[]> = {
  container: ['containers.', 'tasks.'],
  image: ['images.'],
  network: ['networks.'],
  snapshot: ['snapshots.'],
  node: ['nodes.'],
};

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

function fields(payload: unknown): Record<string, unknown> {
  return payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
}

/** The object an event is about (its id) and the attributes worth showing, as docker's "id (k=v, ...)". */
export function eventActor(e: EventView): { id: string; attributes: Record<string, string> } {
  const p = fields(e.payload);
  const attrs: Record<string, string> = {};
  const put = (key: string, value: unknown) => {
    const v = str(value);
    if (v !== '') attrs[key] = v;
  };
  const family = e.type.split('.')[0];
  let id = '';
  switch (family) {
    case 'containers':
      id = str(p['id']);
      put('name', p['name']);
      put('image', p['image']);
      break;
    case 'tasks': {
      id = str(p['containerId']);
      put('execID', p['execId']);
      put('pid', p['pid']);
      const exit = fields(p['exitStatus']);
      if (e.type === 'tasks.exit' || 'exitCode' in exit) put('exitCode', exit['exitCode'] ?? 0);
      if (exit['signal']) put('signal', exit['signal']);
      if (exit['oomKilled'] === true) put('oomKilled', true);
      break;
    }
    case 'images':
      id = str(p['name']) || str(p['reference']);
      put('reference', p['name'] ? p['reference'] : undefined);
      put('digest', fields(p['target'])['digest'] ?? p['targetDigest']);
      put('error', p['error']);
      break;
    case 'networks':
      id = str(p['name']) || str(p['network']);
      put('container', p['containerId']);
      put('driver', p['driver']);
      put('subnet', p['subnet']);
      if (Array.isArray(p['addresses'])) put('addresses', p['addresses'].map(str).join(','));
      break;
    case 'snapshots':
      id = str(p['name']) || str(p['key']);
      put('snapshotter', p['snapshotter']);
      put('parent', p['parent']);
      break;
    case 'nodes':
      id = str(p['nodeId']);
      put('running', p['runningContainers']);
      break;
    default:
      id = str(p['id']) || str(p['name']);
  }
  return { id, attributes: attrs };
}

/** One line: "2024-05-01T10:00:00.000Z tasks.exit 3f2a… (exitCode=0, pid=123)". */
export function formatEvent(e: EventView): string {
  const { id, attributes } = eventActor(e);
  const attrs = Object.entries({ ...attributes, node: e.node })
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${e.time} ${e.type} ${id}${attrs ? ` (${attrs})` : ''}`;
}

/** What --format json prints per event. */
export function eventObject(e: EventView) {
  const { id, attributes } = eventActor(e);
  return { Time: e.time, Type: e.type, ID: id, Attributes: attributes, Node: e.node, Namespace: e.namespace, Source: e.source, Payload: e.payload };
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return re.test(value);
}

function matchesOne(e: EventView, f: Filter): boolean {
  const { id, attributes } = eventActor(e);
  const p = fields(e.payload);
  switch (f.key) {
    case 'type': {
      const prefixes = OBJECT_TYPES[f.value];
      return prefixes ? prefixes.some((pre) => e.type.startsWith(pre)) : globMatch(f.value, e.type) || e.type.startsWith(`${f.value}.`);
    }
    case 'event': {
      const action = e.type.slice(e.type.indexOf('.') + 1);
      return f.value === e.type || f.value === action || globMatch(f.value, action);
    }
    case 'container': {
      if (!e.type.startsWith('containers.') && !e.type.startsWith('tasks.') && !('containerId' in p)) return false;
      const cid = str(p['containerId']) || (e.type.startsWith('containers.') ? id : '');
      return (cid !== '' && cid.startsWith(f.value)) || attributes['name'] === f.value || str(p['containerName']) === f.value;
    }
    case 'image':
      return (e.type.startsWith('images.') && (id === f.value || id.includes(f.value))) || attributes['image'] === f.value;
    case 'network':
      return e.type.startsWith('networks.') && (id === f.value || str(p['id']).startsWith(f.value));
    case 'node':
      return e.node === f.value;
    case 'source':
      return e.source === f.value;
    default:
      throw new UsageError(`unknown event filter "${f.key}"`);
  }
}

/** Filters with the same key are alternatives; different keys must all match. */
export function eventMatches(e: EventView, filters: Filter[]): boolean {
  const byKey = new Map<string, Filter[]>();
  for (const f of filters) byKey.set(f.key, [...(byKey.get(f.key) ?? []), f]);
  return [...byKey.values()].every((group) => group.some((f) => matchesOne(e, f)));
}

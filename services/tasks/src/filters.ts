// ListContainers filters (proto/README.md), and the parsing every list's filters share: "key=value"; same key = any
// matches, different keys = all match. Unknown keys are INVALID_ARGUMENT.
import { parseReference } from '@berth/oci';
import { invalidArgument } from './errors.js';
import type { ContainerRecord } from './records.js';

const KEYS = ['id', 'name', 'label', 'status', 'ancestor', 'node', 'network'] as const;
type Key = (typeof KEYS)[number];
const STATUSES = ['created', 'running', 'paused', 'restarting', 'stopped', 'exited', 'unknown'];

export type ParsedFilters = Map<Key, string[]>;

/** Parses filter strings, each "key=value" with `key` one of `keys`; INVALID_ARGUMENT otherwise. */
export function parseFilterList<K extends string>(filters: readonly string[], keys: readonly K[]): Map<K, string[]> {
  const parsed = new Map<K, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = (eq < 0 ? f : f.slice(0, eq)).trim();
    const value = eq < 0 ? '' : f.slice(eq + 1);
    if (!(keys as readonly string[]).includes(key)) {
      throw invalidArgument(`invalid filter ${JSON.stringify(f)}: unknown key "${key}"; known keys: ${keys.join(', ')}`);
    }
    if (eq < 0 || value === '') throw invalidArgument(`invalid filter ${JSON.stringify(f)}: expected ${key}=VALUE`);
    parsed.set(key as K, [...(parsed.get(key as K) ?? []), value]);
  }
  return parsed;
}

/** Whether labels match a label filter's value: "KEY" (present) or "KEY=VALUE". */
export function matchesLabel(labels: Record<string, string>, value: string): boolean {
  const eq = value.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, value);
  return labels[value.slice(0, eq)] === value.slice(eq + 1);
}

/** Parses and checks filter strings. */
export function parseContainerFilters(filters: readonly string[]): ParsedFilters {
  const parsed = parseFilterList(filters, KEYS);
  for (const value of parsed.get('status') ?? []) {
    if (!STATUSES.includes(value)) {
      throw invalidArgument(`invalid filter ${JSON.stringify(`status=${value}`)}: status must be one of ${STATUSES.join(', ')}`);
    }
  }
  return parsed;
}

function normalisedImage(value: string): string | undefined {
  try {
    return parseReference(value).string();
  } catch {
    return undefined;
  }
}

function matchesAncestor(record: ContainerRecord, value: string): boolean {
  if (value === record.imageRef || value === record.imageName) return true;
  const name = normalisedImage(value);
  if (name !== undefined && name === record.imageName) return true;
  const hex = record.imageId.replace(/^sha256:/, '');
  const asked = value.replace(/^sha256:/, '');
  return /^[0-9a-f]{4,64}$/.test(asked) && hex.startsWith(asked);
}

function networksOf(record: ContainerRecord): string[] {
  return record.spec.networks.length === 0 ? ['bridge'] : record.spec.networks.map((n) => n.network);
}

/** True when the record passes every filter; `state` is its shown state word ("running", ...). */
export function matchesContainerFilters(record: ContainerRecord, state: string, filters: ParsedFilters): boolean {
  for (const [key, values] of filters) {
    const any = values.some((v) => {
      switch (key) {
        case 'id':
          return record.id.startsWith(v);
        case 'name':
          return record.name.includes(v.replace(/^\//, ''));
        case 'label':
          return matchesLabel(record.spec.labels, v);
        case 'status':
          return v === state || (v === 'exited' && state === 'stopped');
        case 'ancestor':
          return matchesAncestor(record, v);
        case 'node':
          return record.nodeId === v;
        case 'network':
          return networksOf(record).includes(v);
      }
    });
    if (!any) return false;
  }
  return true;
}

import { invalidArgument } from '@berth/service-kit';
import type { SnapshotKind } from '../metadata.js';
import type { SnapshotInfo } from '../snapshotter.js';

const KEYS = ['name', 'parent', 'kind', 'label'] as const;
type Key = (typeof KEYS)[number];
const KINDS: readonly SnapshotKind[] = ['view', 'active', 'committed'];

type Test = (s: SnapshotInfo) => boolean;

function parseOne(filter: string): { key: Key; test: Test } {
  const eq = filter.indexOf('=');
  const key = (eq < 0 ? filter : filter.slice(0, eq)).trim();
  if (!(KEYS as readonly string[]).includes(key)) {
    throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: unknown key ${JSON.stringify(key)}; known keys: ${KEYS.join(', ')}`);
  }
  const value = eq < 0 ? undefined : filter.slice(eq + 1);
  switch (key as Key) {
    case 'name':
      if (!value) throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: expected name=NAME`);
      return { key: 'name', test: (s) => s.key === value };
    case 'parent':
      // parent= (empty) selects snapshots without a parent (base layers)
      if (value === undefined) throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: expected parent=NAME (empty for none)`);
      return { key: 'parent', test: (s) => (s.parent ?? '') === value };
    case 'kind':
      if (!KINDS.includes(value as SnapshotKind)) {
        throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: kind must be one of ${KINDS.join(', ')}`);
      }
      return { key: 'kind', test: (s) => s.kind === value };
    case 'label': {
      if (!value) throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: expected label=KEY or label=KEY=VALUE`);
      const i = value.indexOf('=');
      const label = i < 0 ? value : value.slice(0, i);
      const wanted = i < 0 ? undefined : value.slice(i + 1);
      return { key: 'label', test: (s) => Object.hasOwn(s.labels, label) && (wanted === undefined || s.labels[label] === wanted) };
    }
  }
}

/**
 * ListSnapshots filters (proto/README.md): "key=value"; filters with the
 * same key are alternatives, different keys must all match. Keys: name,
 * parent, kind (view|active|committed), label (label=KEY or label=KEY=VALUE).
 */
export function parseListFilters(filters: readonly string[]): Test {
  const byKey = new Map<Key, Test[]>();
  for (const f of filters) {
    if (f.trim() === '') continue;
    const { key, test } = parseOne(f);
    byKey.set(key, [...(byKey.get(key) ?? []), test]);
  }
  const groups = [...byKey.values()];
  return (s) => groups.every((alternatives) => alternatives.some((t) => t(s)));
}

// List filters as proto/README.md defines them: "key=value" entries, the same
// key any-of, different keys all-of, an unknown key INVALID_ARGUMENT.
import { invalid } from '../errors.js';

export type Filters = ReadonlyMap<string, readonly string[]>;

export function parseFilters(filters: readonly string[], known: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw invalid(`invalid filter ${JSON.stringify(f)}: expected key=value`);
    const key = f.slice(0, eq);
    if (!known.includes(key)) throw invalid(`unknown filter key ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    out.set(key, [...(out.get(key) ?? []), f.slice(eq + 1)]);
  }
  return out;
}

/** True when the key is not filtered on, or any of its values matches. */
export function anyOf(filters: Filters, key: string, matches: (value: string) => boolean): boolean {
  const values = filters.get(key);
  return values === undefined || values.some(matches);
}

/** "KEY" (present) or "KEY=VALUE". */
export function labelMatches(labels: Readonly<Record<string, string>>, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, spec);
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

// List filters as proto/README.md defines them (Docker's --filter): each
// "key=value"; entries with the same key are alternatives, different keys must
// all match. Labels are "label=KEY" (present) or "label=KEY=VALUE". Fields
// documented as "exact or glob" take * and ? wildcards.
import { invalidArgument } from '../errors.js';

/** How to read a field of an item: a value (or several, any of which may match). */
export type FieldReader<T> = (item: T) => string | readonly string[] | undefined;

export interface FilterSpec<T> {
  /** Keys compared for equality (or glob, if listed in `globs`). */
  fields: Record<string, FieldReader<T>>;
  /** Keys whose values may be globs. */
  globs?: readonly string[];
  /** Other spellings of a (non-glob) filter value that match too, e.g. a name's canonical form. */
  aliases?: Record<string, (value: string) => string[]>;
  /** The item's labels, when the list supports label=... filters. */
  labels?: (item: T) => Record<string, string>;
}

/** A predicate for `filters`; INVALID_ARGUMENT naming the filter for a malformed entry or an unknown key. */
export function compileFilters<T>(filters: readonly string[], spec: FilterSpec<T>): (item: T) => boolean {
  const known = [...Object.keys(spec.fields), ...(spec.labels ? ['label'] : [])];
  const groups = new Map<string, ((item: T) => boolean)[]>();
  for (const filter of filters) {
    if (filter.trim() === '') continue;
    const eq = filter.indexOf('=');
    if (eq <= 0) throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: expected key=value (keys: ${known.join(', ')})`);
    const key = filter.slice(0, eq).trim();
    const value = filter.slice(eq + 1);
    let test: (item: T) => boolean;
    if (key === 'label' && spec.labels) {
      const labels = spec.labels;
      const i = value.indexOf('=');
      const labelKey = i < 0 ? value : value.slice(0, i);
      if (labelKey === '') throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: empty label key`);
      test = i < 0 ? (item) => Object.hasOwn(labels(item), labelKey) : (item) => labels(item)[labelKey] === value.slice(i + 1);
    } else {
      const read = spec.fields[key];
      if (read === undefined) throw invalidArgument(`invalid filter ${JSON.stringify(filter)}: unknown key ${JSON.stringify(key)} (keys: ${known.join(', ')})`);
      let match: (v: string) => boolean;
      if (spec.globs?.includes(key) && /[*?]/.test(value)) match = globMatcher(value);
      else {
        const accepted = new Set([value, ...(spec.aliases?.[key]?.(value) ?? [])]);
        match = (v) => accepted.has(v);
      }
      test = (item) => {
        const got = read(item);
        if (got === undefined) return false;
        return typeof got === 'string' ? match(got) : got.some(match);
      };
    }
    const group = groups.get(key) ?? [];
    group.push(test);
    groups.set(key, group);
  }
  return (item) => [...groups.values()].every((alternatives) => alternatives.some((test) => test(item)));
}

/** A whole-string matcher for a glob with * (any run) and ? (any one character). */
export function globMatcher(glob: string): (value: string) => boolean {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`, 's');
  return (value) => re.test(value);
}

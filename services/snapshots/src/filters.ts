import { SnapshotError } from './errors.js';

/** What a filter can look at. */
export interface Filterable {
  key: string;
  kind: string;
  parent?: string;
  labels: Record<string, string>;
}

export type Predicate = (s: Filterable) => boolean;

/**
 * containerd's filter syntax, the part snapshots use:
 *   kind==committed,labels."berth.io/x"==y   (comma: AND)
 *   parent!=sha256:…   name~=^extract-   labels.gc.root   (bare field: present)
 * Several filters are ORed. Fields: name (or key), kind, parent, labels.<key>.
 */
export function parseFilters(filters: readonly string[]): Predicate {
  const parsed = filters.filter((f) => f.trim() !== '').map(parseFilter);
  if (parsed.length === 0) return () => true;
  return (s) => parsed.some((p) => p(s));
}

function fail(filter: string, why: string): never {
  throw new SnapshotError('invalid_argument', `filter ${JSON.stringify(filter)}: ${why}`);
}

/** Splits on commas outside double quotes. */
function clauses(filter: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (c === '\\' && quoted && i + 1 < filter.length) {
      cur += c + filter[++i]!;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) fail(filter, 'unterminated quote');
  out.push(cur);
  return out.map((c) => c.trim());
}

function unquote(text: string, filter: string): string {
  const t = text.trim();
  if (!t.startsWith('"')) return t;
  if (!t.endsWith('"') || t.length < 2) fail(filter, `bad quoted string ${t}`);
  return t.slice(1, -1).replace(/\\(.)/g, '$1');
}

function field(path: string, filter: string): (s: Filterable) => string | undefined {
  switch (path) {
    case 'name':
    case 'key':
      return (s) => s.key;
    case 'kind':
      return (s) => s.kind;
    case 'parent':
      return (s) => s.parent;
  }
  if (path.startsWith('labels.')) {
    const label = unquote(path.slice('labels.'.length), filter);
    if (label === '') fail(filter, 'empty label name');
    return (s) => (Object.hasOwn(s.labels, label) ? s.labels[label] : undefined);
  }
  return fail(filter, `unknown field ${JSON.stringify(path)} (name, kind, parent, labels.<key>)`);
}

function parseClause(clause: string, filter: string): Predicate {
  // The field ends at the first operator outside quotes.
  let quoted = false;
  for (let i = 0; i < clause.length; i++) {
    const c = clause[i]!;
    if (c === '"') quoted = !quoted;
    if (quoted) continue;
    const op = clause.slice(i, i + 2);
    if (op === '==' || op === '!=' || op === '~=') {
      const get = field(clause.slice(0, i).trim(), filter);
      const value = unquote(clause.slice(i + 2), filter);
      if (op === '==') return (s) => get(s) === value;
      if (op === '!=') return (s) => get(s) !== value;
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch (err) {
        return fail(filter, `bad regular expression: ${(err as Error).message}`);
      }
      return (s) => {
        const v = get(s);
        return v !== undefined && re.test(v);
      };
    }
  }
  if (clause === '') fail(filter, 'empty clause');
  const get = field(clause, filter);
  return (s) => get(s) !== undefined;
}

function parseFilter(filter: string): Predicate {
  const parts = clauses(filter).map((c) => parseClause(c, filter));
  return (s) => parts.every((p) => p(s));
}

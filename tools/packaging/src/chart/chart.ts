// The helm chart as files: Chart.yaml, values.yaml, values.schema.json and
// the templates, parsed; and what can be checked without helm: the values
// against the schema, and every `.Values.x.y` a template reads against the
// values it would read it from.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { JsonSchema } from './json-schema.js';

export interface ChartFiles {
  dir: string;
  chart: Record<string, unknown>;
  values: Record<string, unknown>;
  schema: JsonSchema;
  /** Template file name -> text. */
  templates: Map<string, string>;
}

function parseFile<T>(file: string, parser: (text: string) => unknown): T {
  try {
    return parser(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

const yamlDoc = (text: string) => parse(text, { strict: true, uniqueKeys: true, prettyErrors: true }) as unknown;

export function loadChart(dir: string): ChartFiles {
  const chart = parseFile<Record<string, unknown>>(join(dir, 'Chart.yaml'), yamlDoc);
  const values = parseFile<Record<string, unknown>>(join(dir, 'values.yaml'), yamlDoc);
  const schema = parseFile<JsonSchema>(join(dir, 'values.schema.json'), JSON.parse);
  const tdir = join(dir, 'templates');
  const templates = new Map(
    readdirSync(tdir)
      .filter((n) => /\.(ya?ml|tpl|txt)$/.test(n))
      .sort()
      .map((n) => [n, readFileSync(join(tdir, n), 'utf8')] as const),
  );
  return { dir, chart, values, schema, templates };
}

export interface ValuesReference {
  file: string;
  path: string[];
}

/** Every `.Values.a.b.c` (and `$.Values...`) a template names literally. Pure. */
export function valuesReferences(templates: Map<string, string>): ValuesReference[] {
  const out: ValuesReference[] = [];
  for (const [file, text] of templates) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      out.push({ file, path: m[1]!.slice(1).split('.') });
    }
  }
  return out;
}

/** References whose path is not in `values` (a key a template reads that values.yaml never defines). Pure. */
export function unresolvedReferences(refs: ValuesReference[], values: Record<string, unknown>): ValuesReference[] {
  return refs.filter(({ path }) => {
    let cur: unknown = values;
    for (const key of path) {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !(key in cur)) return true;
      cur = (cur as Record<string, unknown>)[key];
    }
    return false;
  });
}

/** Env variable names a template sets literally (`- name: BERTH_X`). Pure. */
export function literalBerthEnvNames(templates: Map<string, string>): Set<string> {
  const names = new Set<string>();
  for (const text of templates.values()) {
    for (const m of text.matchAll(/-\s+name:\s+(BERTH_[A-Z0-9_]+)\s*$/gm)) names.add(m[1]!);
  }
  return names;
}

/** The JSON type(s) values.schema.json allows for a schema node, after $refs. Pure. */
export function schemaAt(schema: JsonSchema, path: string[]): JsonSchema | undefined {
  let cur: JsonSchema | undefined = schema;
  const deref = (s: JsonSchema | undefined): JsonSchema | undefined => {
    while (s && typeof s === 'object' && typeof s['$ref'] === 'string') {
      const name = (s['$ref'] as string).slice('#/$defs/'.length);
      s = ((schema as Record<string, unknown>)['$defs'] as Record<string, JsonSchema>)[name];
    }
    return s;
  };
  for (const key of path) {
    cur = deref(cur);
    if (!cur || typeof cur !== 'object') return undefined;
    cur = ((cur['properties'] ?? {}) as Record<string, JsonSchema>)[key];
  }
  return deref(cur);
}

// The helm chart as files: Chart.yaml, values.yaml, values.schema.json and
// the templates, parsed; and what can be checked without helm: every
// `.Values.x.y` a template reads against the values it would read it from
// (the templates' syntax: template-check.ts; the values against the schema:
// json-schema.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveRef, type JsonSchema } from './json-schema.js';
import { lexTemplate } from './template-lexer.js';

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
  line: number;
  path: string[];
}

/**
 * Every `.Values.a.b.c` a template's actions read (also `$.Values...` and
 * `.root.Values...`, a root passed down in a dict); text and comments are
 * not actions and do not count. Pure.
 */
export function valuesReferences(templates: Map<string, string>): ValuesReference[] {
  const out: ValuesReference[] = [];
  for (const [file, text] of templates) {
    for (const action of lexTemplate(text).actions) {
      for (const t of action.tokens) {
        if (t.kind !== 'field') continue;
        const segments = t.text.slice(1).split('.');
        const at = segments.indexOf('Values');
        if (at !== -1 && at < segments.length - 1) out.push({ file, line: t.line, path: segments.slice(at + 1) });
      }
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

/** The schema node of values.schema.json at a values path, $refs followed. Pure. */
export function schemaAt(schema: JsonSchema, path: string[]): JsonSchema | undefined {
  const deref = (s: JsonSchema | undefined): JsonSchema | undefined =>
    s && typeof s === 'object' && typeof s['$ref'] === 'string' ? deref(resolveRef(schema, s['$ref'])) : s;
  let cur: JsonSchema | undefined = schema;
  for (const key of path) {
    cur = deref(cur);
    if (!cur || typeof cur !== 'object') return undefined;
    cur = ((cur['properties'] ?? {}) as Record<string, JsonSchema>)[key];
  }
  return deref(cur);
}

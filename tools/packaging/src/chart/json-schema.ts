// A JSON Schema validator for the subset values.schema.json uses (draft
// 2020-12 keywords: type, properties, required, additionalProperties, items,
// enum, minimum, maximum, minLength, maxLength, pattern, $ref to #/$defs).
// Any other keyword is refused, so the schema cannot rely on a rule this
// validator would silently skip.

export type JsonSchema = boolean | { [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples', '$comment', '$defs']);
const CHECKED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum',
  'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', '$ref',
]);

export interface SchemaProblem {
  /** JSON-pointer-like path of the value, e.g. "/services/images/metricsPort". */
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const matchesType = (v: unknown, t: string) => {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws naming the keyword and where it is, for keywords outside the supported subset. */
export function assertSupportedSchema(schema: JsonSchema, at = '#'): void {
  if (typeof schema === 'boolean') return;
  for (const [k, v] of Object.entries(schema)) {
    if (!ANNOTATIONS.has(k) && !CHECKED.has(k)) throw new Error(`${at}: keyword "${k}" is not supported by this validator`);
    if (k === 'properties' || k === '$defs') {
      if (!isObject(v)) throw new Error(`${at}/${k}: must be an object`);
      for (const [name, sub] of Object.entries(v)) assertSupportedSchema(sub as JsonSchema, `${at}/${k}/${name}`);
    }
    if (k === 'items' || (k === 'additionalProperties' && typeof v !== 'boolean')) assertSupportedSchema(v as JsonSchema, `${at}/${k}`);
    if (k === '$ref' && (typeof v !== 'string' || !v.startsWith('#/$defs/'))) throw new Error(`${at}: only "#/$defs/..." references are supported, got ${JSON.stringify(v)}`);
  }
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  const name = ref.slice('#/$defs/'.length);
  const defs = typeof root === 'object' ? (root['$defs'] as Record<string, JsonSchema> | undefined) : undefined;
  const target = defs?.[name];
  if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
  return target;
}

function check(value: unknown, schema: JsonSchema, root: JsonSchema, path: string, out: SchemaProblem[]): void {
  if (schema === true) return;
  if (schema === false) {
    out.push({ path, message: 'is not allowed here' });
    return;
  }
  const s = schema;
  if (typeof s['$ref'] === 'string') check(value, resolveRef(root, s['$ref']), root, path, out);

  if (s['type'] !== undefined) {
    const types = (Array.isArray(s['type']) ? s['type'] : [s['type']]) as string[];
    if (!types.some((t) => matchesType(value, t))) {
      out.push({ path, message: `must be ${types.join(' or ')}, is ${typeOf(value)} ${JSON.stringify(value)}` });
      return;
    }
  }
  if (Array.isArray(s['enum']) && !s['enum'].some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push({ path, message: `must be one of ${s['enum'].map((e) => JSON.stringify(e)).join(', ')}, is ${JSON.stringify(value)}` });
  }
  if (typeof value === 'number') {
    if (typeof s['minimum'] === 'number' && value < s['minimum']) out.push({ path, message: `must be >= ${s['minimum']}, is ${value}` });
    if (typeof s['maximum'] === 'number' && value > s['maximum']) out.push({ path, message: `must be <= ${s['maximum']}, is ${value}` });
  }
  if (typeof value === 'string') {
    if (typeof s['minLength'] === 'number' && value.length < s['minLength']) out.push({ path, message: `must have at least ${s['minLength']} characters` });
    if (typeof s['maxLength'] === 'number' && value.length > s['maxLength']) out.push({ path, message: `must have at most ${s['maxLength']} characters` });
    if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(value)) {
      out.push({ path, message: `must match /${s['pattern']}/, is ${JSON.stringify(value)}` });
    }
  }
  if (Array.isArray(value) && s['items'] !== undefined) {
    value.forEach((item, i) => check(item, s['items'] as JsonSchema, root, `${path}/${i}`, out));
  }
  if (isObject(value)) {
    const props = (s['properties'] ?? {}) as Record<string, JsonSchema>;
    for (const key of (s['required'] ?? []) as string[]) {
      if (!(key in value)) out.push({ path: `${path}/${key}`, message: 'is required' });
    }
    for (const [key, v] of Object.entries(value)) {
      const sub = props[key];
      if (sub !== undefined) check(v, sub, root, `${path}/${key}`, out);
      else if (s['additionalProperties'] !== undefined) {
        const extra = s['additionalProperties'] as JsonSchema;
        if (extra === false) out.push({ path: `${path}/${key}`, message: 'is not a known key' });
        else check(v, extra, root, `${path}/${key}`, out);
      }
    }
  }
}

/** Every problem of `value` against `schema` (empty when valid). */
export function validateJson(value: unknown, schema: JsonSchema): SchemaProblem[] {
  assertSupportedSchema(schema);
  const out: SchemaProblem[] = [];
  check(value, schema, schema, '', out);
  return out;
}

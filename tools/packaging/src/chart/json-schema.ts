// A JSON Schema validator for the subset values.schema.json uses. The schema
// declares draft-07, the newest draft every Helm 3 release understands (helm
// before 3.18 validates with gojsonschema: drafts 4, 6 and 7), so only
// draft-07 keywords are accepted: type, properties, required,
// additionalProperties, items, enum, minimum, maximum, minLength, maxLength,
// pattern, and $ref to #/definitions/... with no siblings (draft-07 ignores
// them). Any other keyword is refused, so the schema cannot rely on a rule
// this validator would silently skip, nor on one an older helm would.

export type JsonSchema = boolean | { [keyword: string]: unknown };

/** The dialect values.schema.json declares. */
export const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';
/** Where draft-07 keeps reusable schemas ($defs is 2019-09 and later). */
export const DEFINITIONS_REF = '#/definitions/';

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples', '$comment', 'definitions']);
const CHECKED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum',
  'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', '$ref',
]);
/** What ECMAScript regexps have and Go's RE2 (helm's validators) lacks: lookaround and backreferences. */
const NOT_RE2 = /\\[1-9]|\\k<|\(\?<?[=!]/;

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

/**
 * Throws naming the keyword and where it is, for anything outside the
 * supported draft-07 subset: another keyword or dialect, a $ref that is not
 * to #/definitions or has siblings, a pattern RE2 would read otherwise.
 */
export function assertSupportedSchema(schema: JsonSchema, at = '#'): void {
  if (typeof schema === 'boolean') return;
  if (at === '#' && schema['$schema'] !== DRAFT_07) {
    throw new Error(`#: "$schema" must be ${JSON.stringify(DRAFT_07)} (the dialect this validator and every Helm 3 implement), got ${JSON.stringify(schema['$schema'])}`);
  }
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$defs') throw new Error(`${at}: "$defs" is not a draft-07 keyword; reusable schemas go under "definitions"`);
    if (!ANNOTATIONS.has(k) && !CHECKED.has(k)) throw new Error(`${at}: keyword "${k}" is not supported by this validator`);
    if (at !== '#' && (k === '$schema' || k === 'definitions')) throw new Error(`${at}: "${k}" belongs at the root of the schema only`);
    if (k === 'properties' || k === 'definitions') {
      if (!isObject(v)) throw new Error(`${at}/${k}: must be an object`);
      for (const [name, sub] of Object.entries(v)) assertSupportedSchema(sub as JsonSchema, `${at}/${k}/${name}`);
    }
    if (k === 'items' || (k === 'additionalProperties' && typeof v !== 'boolean')) assertSupportedSchema(v as JsonSchema, `${at}/${k}`);
    if (k === '$ref') {
      if (typeof v !== 'string' || !v.startsWith(DEFINITIONS_REF)) throw new Error(`${at}: only "${DEFINITIONS_REF}..." references are supported, got ${JSON.stringify(v)}`);
      const siblings = Object.keys(schema).filter((s) => s !== '$ref' && !ANNOTATIONS.has(s));
      if (siblings.length > 0) throw new Error(`${at}: draft-07 ignores the keywords beside "$ref" (${siblings.join(', ')}); move them into the referenced schema`);
    }
    if (k === 'pattern' && (typeof v !== 'string' || NOT_RE2.test(v))) {
      throw new Error(`${at}: pattern ${JSON.stringify(v)} uses lookaround or a backreference, which helm's regexp engine (RE2) does not have`);
    }
  }
}

/** The schema a `#/definitions/name` reference names; throws when there is none. */
export function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  const name = ref.slice(DEFINITIONS_REF.length);
  const defs = typeof root === 'object' ? (root['definitions'] as Record<string, JsonSchema> | undefined) : undefined;
  const target = defs?.[name];
  if (!ref.startsWith(DEFINITIONS_REF) || target === undefined) throw new Error(`unresolved $ref ${ref}`);
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

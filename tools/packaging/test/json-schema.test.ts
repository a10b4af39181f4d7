// The values.schema.json validator: draft-07 only (what every Helm 3 reads),
// the keyword subset it checks, and the problems it reports.
import { describe, expect, it } from 'vitest';
import { assertSupportedSchema, DRAFT_07, validateJson, type JsonSchema } from '../src/index.js';

const schema = (body: Record<string, unknown>): JsonSchema => ({ $schema: DRAFT_07, ...body });

describe('assertSupportedSchema', () => {
  it('accepts a draft-07 schema with definitions and references to them', () => {
    expect(() =>
      assertSupportedSchema(
        schema({
          type: 'object',
          properties: { a: { $ref: '#/definitions/port', description: 'annotations may stand beside $ref' } },
          definitions: { port: { type: 'integer', minimum: 1, maximum: 65535 } },
          additionalProperties: false,
        }),
      ),
    ).not.toThrow();
  });

  it.each([
    ['another dialect', { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }, /"\$schema" must be "http:\/\/json-schema.org\/draft-07\/schema#"/],
    ['no dialect', { type: 'object' }, /"\$schema" must be/],
    ['$defs', schema({ $defs: { a: { type: 'string' } } }), /"\$defs" is not a draft-07 keyword/],
    ['a reference into $defs', schema({ properties: { a: { $ref: '#/$defs/a' } } }), /#\/properties\/a: only "#\/definitions\/..." references/],
    ['keywords beside $ref', schema({ properties: { a: { $ref: '#/definitions/a', minimum: 2 } } }), /draft-07 ignores the keywords beside "\$ref" \(minimum\)/],
    ['a keyword outside the subset', schema({ properties: { a: { oneOf: [] } } }), /#\/properties\/a: keyword "oneOf" is not supported/],
    ['a nested $schema', schema({ properties: { a: { $schema: DRAFT_07 } } }), /"\$schema" belongs at the root/],
    ['a lookahead pattern', schema({ properties: { a: { type: 'string', pattern: '^(?!kube-)' } } }), /lookaround or a backreference/],
    ['a backreference', schema({ properties: { a: { type: 'string', pattern: '^(a)\\1$' } } }), /lookaround or a backreference/],
  ])('refuses %s', (_what, s, message) => {
    expect(() => assertSupportedSchema(s as JsonSchema)).toThrow(message);
  });
});

describe('validateJson', () => {
  const s = schema({
    type: 'object',
    required: ['port', 'name'],
    additionalProperties: false,
    properties: {
      port: { $ref: '#/definitions/port' },
      name: { type: 'string', pattern: '^[a-z]+$', maxLength: 5 },
      tags: { type: 'array', items: { type: 'string' } },
      mode: { enum: ['a', 'b'] },
    },
    definitions: { port: { type: 'integer', minimum: 1, maximum: 65535 } },
  });

  it('accepts a valid value', () => {
    expect(validateJson({ port: 80, name: 'web', tags: ['x'], mode: 'a' }, s)).toEqual([]);
  });

  it('reports every problem with its path', () => {
    expect(validateJson({ port: 0, name: 'Web-Server', tags: ['x', 2], mode: 'c', extra: true }, s)).toEqual([
      { path: '/port', message: 'must be >= 1, is 0' },
      { path: '/name', message: 'must have at most 5 characters' },
      { path: '/name', message: 'must match /^[a-z]+$/, is "Web-Server"' },
      { path: '/tags/1', message: 'must be string, is integer 2' },
      { path: '/mode', message: 'must be one of "a", "b", is "c"' },
      { path: '/extra', message: 'is not a known key' },
    ]);
    expect(validateJson({}, s)).toEqual([
      { path: '/port', message: 'is required' },
      { path: '/name', message: 'is required' },
    ]);
  });
});

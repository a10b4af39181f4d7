import { describe, expect, it } from 'vitest';
import { encodeEnvelope, EnvelopeError, makeEnvelope, parseEnvelope } from '../src/index.js';

const base = { namespace: 'default', type: 'tasks.exit', source: 'tasks', node: 'node-1', payload: { code: 3 } };

describe('envelope', () => {
  it('fills id and time and round-trips through bytes', () => {
    const env = makeEnvelope({ ...base, traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' });
    expect(env.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(env.time)).not.toBeNaN();
    expect(env.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(parseEnvelope(encodeEnvelope(env))).toEqual(env);
    expect(makeEnvelope(base).id).not.toBe(env.id);
  });

  it('keeps a given id and time and accepts RFC 3339 with nanoseconds', () => {
    const env = makeEnvelope({ ...base, id: 'evt-1', time: '2024-05-01T10:00:00.123456789+02:00' });
    expect(env).toMatchObject({ id: 'evt-1', time: '2024-05-01T10:00:00.123456789+02:00' });
    expect(makeEnvelope({ ...base, time: new Date(0) }).time).toBe('1970-01-01T00:00:00.000Z');
  });

  it('refuses to make an envelope from bad fields, listing every problem', () => {
    let error: unknown;
    try {
      makeEnvelope({ ...base, namespace: 'a b', node: '', payload: undefined });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvelopeError);
    const problems = (error as EnvelopeError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/node: expected a non-empty string/);
    expect(problems.join('\n')).toMatch(/namespace: namespace "a b" contains a whitespace/);
    expect(problems.join('\n')).toMatch(/payload: missing/);
  });

  it('rejects bytes that are not an envelope, saying why', () => {
    expect(() => parseEnvelope('not json')).toThrow(/event envelope is not JSON/);
    expect(() => parseEnvelope(new Uint8Array([0xff, 0xfe]))).toThrow(/not valid UTF-8/);
    expect(() => parseEnvelope('[1]')).toThrow(/expected a JSON object, got an array/);
    const good = makeEnvelope(base);
    expect(() => parseEnvelope(JSON.stringify({ ...good, time: 'yesterday' }))).toThrow(
      /invalid event envelope .* \(tasks.exit\): time: "yesterday" is not an RFC 3339 timestamp/,
    );
    expect(() => parseEnvelope(JSON.stringify({ ...good, traceparent: 'abc' }))).toThrow(/traceparent: "abc" is not a W3C traceparent/);
    const { payload: _payload, ...withoutPayload } = good;
    expect(() => parseEnvelope(JSON.stringify(withoutPayload))).toThrow(/payload: missing/);
  });

  it('validates and types the payload with a given validator, keeping its error', () => {
    const validate = (p: unknown): { code: number } => {
      if (typeof (p as { code?: unknown }).code !== 'number') throw new Error('code must be a number');
      return p as { code: number };
    };
    expect(parseEnvelope(encodeEnvelope(makeEnvelope(base)), validate).payload.code).toBe(3);
    const bad = encodeEnvelope(makeEnvelope({ ...base, payload: { code: 'x' } }));
    expect(() => parseEnvelope(bad, validate)).toThrow(/invalid tasks.exit event .*: payload: code must be a number/);
  });

  it('accepts a null payload', () => {
    expect(parseEnvelope(encodeEnvelope(makeEnvelope({ ...base, payload: null }))).payload).toBeNull();
  });
});

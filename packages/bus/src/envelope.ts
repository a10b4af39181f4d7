// The event envelope: what every event on the bus looks like, whatever its payload.
import { randomUUID } from 'node:crypto';
import { decodeJson, encodeJson } from './codec.js';
import { assertDottedName, assertNamespace, assertNodeId, SubjectError } from './subjects.js';

export interface EventEnvelope<T = unknown> {
  /** Unique id; also the JetStream Nats-Msg-Id, so a retried publish is stored once. */
  id: string;
  /** Event type, e.g. `tasks.exit`. */
  type: string;
  /** Service that published it. */
  source: string;
  /** Node it was published from. */
  node: string;
  namespace: string;
  /** RFC 3339 timestamp (ISO 8601 with milliseconds, UTC). */
  time: string;
  /** W3C traceparent of the span that published it. */
  traceparent?: string;
  payload: T;
}

export interface MakeEnvelopeInput<T> {
  namespace: string;
  type: string;
  source: string;
  node: string;
  payload: T;
  traceparent?: string;
  /** Default: a random UUID. */
  id?: string;
  /** Default: now. */
  time?: Date | string;
}

/** An envelope that fails validation; `problems` lists every field that is wrong. */
export class EnvelopeError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function makeEnvelope<T>(input: MakeEnvelopeInput<T>): EventEnvelope<T> {
  const time = input.time instanceof Date ? input.time.toISOString() : (input.time ?? new Date().toISOString());
  const envelope: EventEnvelope<T> = {
    id: input.id ?? randomUUID(),
    type: input.type,
    source: input.source,
    node: input.node,
    namespace: input.namespace,
    time,
    ...(input.traceparent !== undefined ? { traceparent: input.traceparent } : {}),
    payload: input.payload,
  };
  const problems = envelopeProblems(envelope);
  if (problems.length > 0) {
    throw new EnvelopeError(`cannot make a ${describe(input)} event: ${problems.join('; ')}`, problems);
  }
  return envelope;
}

export function encodeEnvelope(envelope: EventEnvelope<unknown>): Uint8Array {
  return encodeJson(envelope, `event ${envelope.type}`);
}

/**
 * Decodes and validates an envelope. validatePayload (e.g. a zod schema's
 * parse) checks the payload and gives it its type; its error is kept as cause.
 */
export function parseEnvelope<T = unknown>(
  data: Uint8Array | string,
  validatePayload?: (payload: unknown) => T,
): EventEnvelope<T> {
  let value: unknown;
  try {
    value = decodeJson(data, 'event envelope');
  } catch (err) {
    throw new EnvelopeError((err as Error).message, [(err as Error).message]);
  }
  const problems = envelopeProblems(value);
  if (problems.length > 0) {
    throw new EnvelopeError(`invalid event envelope${describeValue(value)}: ${problems.join('; ')}`, problems);
  }
  const envelope = value as EventEnvelope<unknown>;
  if (!validatePayload) return envelope as EventEnvelope<T>;
  try {
    return { ...envelope, payload: validatePayload(envelope.payload) };
  } catch (err) {
    const problem = `payload: ${(err as Error).message}`;
    const error = new EnvelopeError(`invalid ${envelope.type} event ${envelope.id}: ${problem}`, [problem]);
    error.cause = err;
    throw error;
  }
}

/** Every reason value is not a valid envelope (empty when it is one). */
export function envelopeProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`];
  }
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const field = v[key];
    if (typeof field === 'string' && field !== '') return field;
    problems.push(`${key}: expected a non-empty string, got ${field === undefined ? 'nothing' : JSON.stringify(field)}`);
    return undefined;
  };
  const check = (key: string, assert: (value: string) => void): void => {
    const field = str(key);
    if (field === undefined) return;
    try {
      assert(field);
    } catch (err) {
      if (!(err instanceof SubjectError)) throw err;
      problems.push(`${key}: ${err.message}`);
    }
  };
  str('id');
  str('source');
  check('type', (t) => assertDottedName('event type', t));
  check('node', assertNodeId);
  check('namespace', assertNamespace);
  const time = str('time');
  if (time !== undefined && (!RFC3339.test(time) || Number.isNaN(Date.parse(time)))) {
    problems.push(`time: ${JSON.stringify(time)} is not an RFC 3339 timestamp`);
  }
  if (v.traceparent !== undefined && (typeof v.traceparent !== 'string' || !TRACEPARENT.test(v.traceparent))) {
    problems.push(`traceparent: ${JSON.stringify(v.traceparent)} is not a W3C traceparent`);
  }
  if (!('payload' in v) || v.payload === undefined) problems.push('payload: missing');
  return problems;
}

function describe(input: MakeEnvelopeInput<unknown>): string {
  return `${JSON.stringify(input.type)} (namespace ${JSON.stringify(input.namespace)})`;
}

function describeValue(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '';
  const { id, type } = value as Record<string, unknown>;
  return typeof id === 'string' ? ` ${id}${typeof type === 'string' ? ` (${type})` : ''}` : '';
}

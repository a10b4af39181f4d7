// Every NATS subject berth uses, built in one place so that producers and
// consumers cannot drift apart. A token is one dot-free subject segment.
//
//   berth.<namespace>.events.<type>   events, e.g. berth.default.events.tasks.exit.
//                                     All of them are stored in the JetStream
//                                     stream BERTH_EVENTS (subject berth.*.events.>).
//   berth.node.<node>.rpc.<verb>      request/reply addressed to one node's agent,
//                                     e.g. berth.node.worker-1.rpc.containers.run.
//   berth.node.<node>.heartbeat       an agent's periodic liveness/capacity report.
//   berth.rpc.<service>.<verb>        request/reply any instance of a service may
//                                     answer (served in a queue group), e.g.
//                                     berth.rpc.tasks.containers.list.
//
// So that these families never overlap (in particular, so nothing but events
// lands in BERTH_EVENTS), namespaces may not be "node" or "rpc", and node and
// service names may not be "events".

export const SUBJECT_ROOT = 'berth';
export const EVENTS_STREAM = 'BERTH_EVENTS';
/** What BERTH_EVENTS captures: the events of every namespace. */
export const EVENTS_STREAM_SUBJECTS: readonly string[] = [`${SUBJECT_ROOT}.*.events.>`];

const RESERVED_NAMESPACES = new Set(['node', 'rpc']);
const RESERVED_NAMES = new Set(['events']);
const MAX_TOKEN_LENGTH = 128;

/** Error for a name that cannot be used in a subject; `what` says which argument it was. */
export class SubjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubjectError';
  }
}

/** Throws a SubjectError unless value is a single subject token: non-empty, no '.', '*', '>', whitespace or control characters. */
export function assertToken(what: string, value: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new SubjectError(`${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  if (value.length > MAX_TOKEN_LENGTH) {
    throw new SubjectError(`${what} ${JSON.stringify(value.slice(0, 40))}… is ${value.length} characters long (at most ${MAX_TOKEN_LENGTH})`);
  }
  const bad = /[.*>\s\u0000-\u001f\u007f]/.exec(value);
  if (bad) {
    throw new SubjectError(
      `${what} ${JSON.stringify(value)} contains ${describeChar(bad[0])} at position ${bad.index}: ` +
        `a subject token may not contain '.', '*', '>', whitespace or control characters`,
    );
  }
}

/** A dotted name such as an event type (`tasks.exit`) or verb (`containers.run`): one or more tokens. */
export function assertDottedName(what: string, value: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new SubjectError(`${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  const tokens = value.split('.');
  tokens.forEach((token, i) => {
    if (token === '') {
      throw new SubjectError(`${what} ${JSON.stringify(value)} has an empty segment (at segment ${i + 1}); segments are separated by single dots`);
    }
    assertToken(`${what} ${JSON.stringify(value)}: segment`, token);
  });
}

export function assertNamespace(namespace: string): void {
  assertToken('namespace', namespace);
  if (RESERVED_NAMESPACES.has(namespace)) {
    throw new SubjectError(`namespace ${JSON.stringify(namespace)} is reserved for berth's own subjects (reserved: ${[...RESERVED_NAMESPACES].join(', ')})`);
  }
}

export function assertNodeId(node: string): void {
  assertToken('node id', node);
  if (RESERVED_NAMES.has(node)) throw new SubjectError(`node id ${JSON.stringify(node)} is reserved`);
}

export function assertServiceName(service: string): void {
  assertToken('service name', service);
  if (RESERVED_NAMES.has(service)) throw new SubjectError(`service name ${JSON.stringify(service)} is reserved`);
}

/** berth.<namespace>.events.<type>: where an event of `type` (e.g. `tasks.exit`) in `namespace` is published. */
export function eventSubject(namespace: string, type: string): string {
  assertNamespace(namespace);
  assertDottedName('event type', type);
  return `${SUBJECT_ROOT}.${namespace}.events.${type}`;
}

/**
 * A subscription pattern over events: namespace may be '*' (every
 * namespace); type may use '*' for a segment and end in '>' (default '>':
 * every type). eventPattern() matches every event of every namespace.
 */
export function eventPattern(namespace = '*', type = '>'): string {
  if (namespace !== '*') assertNamespace(namespace);
  const tokens = type.split('.');
  tokens.forEach((token, i) => {
    if (token === '*') return;
    if (token === '>' && i === tokens.length - 1) return;
    if (token === '') throw new SubjectError(`event type pattern ${JSON.stringify(type)} has an empty segment`);
    assertToken(`event type pattern ${JSON.stringify(type)}: segment`, token);
  });
  return `${SUBJECT_ROOT}.${namespace}.events.${type}`;
}

/** berth.node.<node>.rpc.<verb>: a request only the agent of `node` answers. */
export function nodeRpcSubject(node: string, verb: string): string {
  assertNodeId(node);
  assertDottedName('verb', verb);
  return `${SUBJECT_ROOT}.node.${node}.rpc.${verb}`;
}

/** berth.rpc.<service>.<verb>: a request any instance of `service` may answer (served in queue group `service`). */
export function serviceRpcSubject(service: string, verb: string): string {
  assertServiceName(service);
  assertDottedName('verb', verb);
  return `${SUBJECT_ROOT}.rpc.${service}.${verb}`;
}

/** berth.node.<node>.heartbeat: where the agent of `node` reports that it is alive. */
export function heartbeatSubject(node: string): string {
  assertNodeId(node);
  return `${SUBJECT_ROOT}.node.${node}.heartbeat`;
}

/** berth.node.*.heartbeat: every node's heartbeats (what a tasks service watches). */
export const HEARTBEAT_PATTERN = `${SUBJECT_ROOT}.node.*.heartbeat`;

/**
 * berth.nodes.heartbeat-request: a watcher of heartbeats that has just
 * started (a tasks service) asks every agent for one now, rather than
 * knowing no node until the next interval. Core NATS, empty, no reply.
 */
export const HEARTBEAT_REQUEST_SUBJECT = `${SUBJECT_ROOT}.nodes.heartbeat-request`;

function describeChar(c: string): string {
  if (c === '.' || c === '*' || c === '>') return `'${c}'`;
  return `a whitespace or control character (U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`;
}

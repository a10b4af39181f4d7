import { describe, expect, it } from 'vitest';
import { callError, CallError, Code, hasCode, StackNotRunningError } from '../src/client/errors.js';
import { commandTraceparent, isTraceparent, traceIdOf } from '../src/client/trace.js';
import { startFailureCode } from '../src/exit-codes.js';

describe('callError', () => {
  const sock = '/run/berth/tasks.sock';
  it('an unreachable socket means the stack is not running, and says how to start it', () => {
    const e = callError({ code: Code.UNAVAILABLE, details: 'No connection established. Last error: connect ENOENT /run/berth/tasks.sock' }, 'tasks', sock, 'ListContainers');
    expect(e).toBeInstanceOf(StackNotRunningError);
    expect(e.message).toBe(
      'cannot connect to the berth tasks service at /run/berth/tasks.sock (nothing answers there): the berth stack is not running; start it with `berth system up`',
    );
    expect(e.exitCode).toBe(125);
  });
  it('UNAVAILABLE from a service about its neighbour keeps the service\'s words', () => {
    const e = callError({ code: Code.UNAVAILABLE, details: 'cannot reach the agent of node n1' }, 'tasks', sock, 'StartTask');
    expect(e).toBeInstanceOf(CallError);
    expect(e.message).toBe('cannot reach the agent of node n1');
    // even when it relays grpc-js's connection words about its own peer's socket
    const relayed = 'the agent at unix:/run/berth/agent.sock is unavailable: No connection established. Last error: connect ENOENT /run/berth/agent.sock';
    const r = callError({ code: Code.UNAVAILABLE, details: relayed }, 'tasks', sock, 'StartTask');
    expect(r).not.toBeInstanceOf(StackNotRunningError);
    expect(r.message).toBe(relayed);
  });
  it('UNIMPLEMENTED names the service and method', () => {
    expect(callError({ code: Code.UNIMPLEMENTED, details: 'x' }, 'images', sock, 'PullImage').message).toBe(
      'the images service does not implement PullImage yet: x',
    );
  });
  it('keeps the gRPC code for callers', () => {
    const e = callError({ code: Code.NOT_FOUND, details: 'no such container: nope' }, 'tasks', sock, 'GetContainer');
    expect(hasCode(e, Code.NOT_FOUND)).toBe(true);
    expect(hasCode(e, Code.ALREADY_EXISTS)).toBe(false);
    expect(e.message).toBe('no such container: nope');
  });
});

describe('traceparent', () => {
  it('joins a valid TRACEPARENT, else starts a sampled trace', () => {
    const inherited = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(commandTraceparent({ TRACEPARENT: inherited })).toBe(inherited);
    const fresh = commandTraceparent({ TRACEPARENT: 'garbage' }, (n) => Buffer.alloc(n, 0xab));
    expect(fresh).toBe(`00-${'ab'.repeat(16)}-${'ab'.repeat(8)}-01`);
    expect(isTraceparent(fresh)).toBe(true);
    expect(isTraceparent(`00-${'0'.repeat(32)}-${'ab'.repeat(8)}-01`)).toBe(false);
    expect(traceIdOf(inherited)).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('startFailureCode', () => {
  it.each([
    ['exec: "nope": executable file not found in $PATH', undefined, 127],
    ['exec: "/nope": stat /nope: no such file or directory', undefined, 127],
    ['exec: "/etc": permission denied', undefined, 126],
    ['invalid mount source /missing: no such file or directory', undefined, 125],
    ['cannot start container x: something else', undefined, 125],
    ['anything', 127, 127],
    ['anything', 126, 126],
    ['exec: "nope": executable file not found', 1, 127],
  ])('%s (recorded %s) -> %d', (message, recorded, code) => expect(startFailureCode(message, recorded)).toBe(code));
});

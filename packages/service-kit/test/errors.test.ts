// failStreamingCall: an error status for a streaming call whose client is
// still there, nothing (and no throw) for one it has left.
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { callEnding, failStreamingCall } from '../src/index.js';

type Call = grpc.ServerDuplexStream<unknown, unknown>;

/** The parts of a grpc-js server call that failStreamingCall looks at. */
function fakeCall(state: { cancelled?: boolean; destroyed?: boolean } = {}): Call & EventEmitter & { log: string[] } {
  const log: string[] = [];
  return Object.assign(new EventEmitter(), {
    cancelled: state.cancelled ?? false,
    destroyed: state.destroyed ?? false,
    log,
    write: (msg: unknown) => log.push(`write ${String(msg)}`),
    end: () => log.push('end'),
  }) as unknown as Call & EventEmitter & { log: string[] };
}

describe('failStreamingCall', () => {
  it('hands the error to the call (grpc-js turns it into the status)', () => {
    const call = fakeCall();
    const seen: Error[] = [];
    call.on('error', (e: Error) => seen.push(e));
    const err = new Error('no such container');
    failStreamingCall(call, err);
    expect(seen).toEqual([err]);
  });

  it('leaves a call the client has left alone, and does not throw when nobody listens any more', () => {
    for (const call of [fakeCall({ cancelled: true }), fakeCall({ destroyed: true })]) {
      const seen: Error[] = [];
      call.on('error', (e: Error) => seen.push(e));
      failStreamingCall(call, new Error('late'));
      expect(seen).toEqual([]);
    }
    // an EventEmitter throws an 'error' nobody listens to: that would have ended the service
    expect(() => failStreamingCall(fakeCall(), new Error('unheard'))).not.toThrow();
  });
});

describe('callEnding', () => {
  it('ends once, after the last message when given: a later end or failure changes nothing', () => {
    const call = fakeCall();
    const errors: Error[] = [];
    call.on('error', (e: Error) => errors.push(e));
    const ending = callEnding(call);
    expect(ending.ended).toBe(false);
    ending.end('exit');
    ending.end('again');
    ending.fail(new Error('late'));
    expect(ending.ended).toBe(true);
    expect(call.log).toEqual(['write exit', 'end']);
    expect(errors).toEqual([]);
  });

  it('fails once with the status toError makes, and then ends nothing', () => {
    const call = fakeCall();
    const errors: Error[] = [];
    call.on('error', (e: Error) => errors.push(e));
    const ending = callEnding(call, (err) => new Error(`mapped: ${(err as Error).message}`));
    ending.fail(new Error('no such container'));
    ending.end();
    expect(errors.map((e) => e.message)).toEqual(['mapped: no such container']);
    expect(call.log).toEqual([]);
  });
});

// failStreamingCall: an error status for a streaming call whose client is
// still there, nothing (and no throw) for one it has left.
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { failStreamingCall } from '../src/index.js';

type Call = grpc.ServerDuplexStream<unknown, unknown>;

/** The parts of a grpc-js server call that failStreamingCall looks at. */
function fakeCall(state: { cancelled?: boolean; destroyed?: boolean } = {}): Call & EventEmitter {
  return Object.assign(new EventEmitter(), { cancelled: state.cancelled ?? false, destroyed: state.destroyed ?? false }) as unknown as Call & EventEmitter;
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

// A Content server whose reads can hang: what the real images service cannot
// be made to do, for the test of a client that goes away mid-layer. Blobs in
// memory; ReadContent of a stalled blob sends one chunk and then waits for
// the client to cancel. Every other method answers UNIMPLEMENTED.
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { images, withUnimplemented } from '@berth/api';

const CHUNK = 64 * 1024;

export interface FakeContent {
  address: string;
  blobs: Map<string, Buffer>;
  /** Blobs whose ReadContent sends one chunk and then hangs until the client cancels. */
  stalled: Set<string>;
  stop(): Promise<void>;
}

export async function startFakeContent(socket: string): Promise<FakeContent> {
  const blobs = new Map<string, Buffer>();
  const stalled = new Set<string>();
  const handlers = withUnimplemented<images.ContentServer>(images.ContentService, {
    readContent: (call) => {
      const blob = blobs.get(call.request.digest);
      if (!blob) {
        const details = `content ${call.request.digest} not found`;
        return call.emit('error', Object.assign(new Error(details), { code: grpc.status.NOT_FOUND, details }));
      }
      if (stalled.has(call.request.digest)) {
        call.write(images.ReadContentResponse.fromPartial({ offset: 0, data: blob.subarray(0, CHUNK) }));
        return; // never ends: the client has to cancel
      }
      for (let off = 0; off < blob.length; off += CHUNK) call.write(images.ReadContentResponse.fromPartial({ offset: off, data: blob.subarray(off, off + CHUNK) }));
      call.end();
    },
  });
  const server = new grpc.Server();
  server.addService(images.ContentService, handlers);
  rmSync(socket, { force: true });
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  return {
    address: `unix:${socket}`,
    blobs,
    stalled,
    stop: async () => {
      server.forceShutdown();
      rmSync(socket, { force: true });
    },
  };
}

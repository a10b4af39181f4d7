// A stand-in for the images service's Content API, used by the Layers tests
// only while the images service itself answers UNIMPLEMENTED: blobs in
// memory, ReadContent in small chunks, WriteContent with the proto's ingest
// protocol (offset checks, COMMIT verifies digest and size). Everything
// else answers UNIMPLEMENTED.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { images, withUnimplemented } from '@berth/api';

const CHUNK = 64 * 1024;

const fail = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details });

export interface FakeContent {
  address: string;
  blobs: Map<string, Buffer>;
  /** Labels the last COMMIT of each blob carried. */
  labels: Map<string, Record<string, string>>;
  /** Namespaces the calls named (metadata berth-namespace). */
  namespaces: string[];
  /** Blobs whose ReadContent sends one chunk and then hangs until the client cancels. */
  stalled: Set<string>;
  stop(): Promise<void>;
}

export async function startFakeContent(socket: string): Promise<FakeContent> {
  const blobs = new Map<string, Buffer>();
  const labels = new Map<string, Record<string, string>>();
  const namespaces: string[] = [];
  const stalled = new Set<string>();
  const noteNamespace = (md: grpc.Metadata) => namespaces.push(String(md.get('berth-namespace')[0] ?? ''));

  const handlers = withUnimplemented<images.ContentServer>(images.ContentService, {
    getContentInfo: (call, cb) => {
      noteNamespace(call.metadata);
      const blob = blobs.get(call.request.digest);
      if (!blob) return cb(fail(grpc.status.NOT_FOUND, `content ${call.request.digest} not found`));
      cb(null, images.GetContentInfoResponse.fromPartial({ info: { digest: call.request.digest, size: blob.length, labels: labels.get(call.request.digest) ?? {} } }));
    },
    readContent: (call) => {
      noteNamespace(call.metadata);
      const blob = blobs.get(call.request.digest);
      if (!blob) return call.emit('error', fail(grpc.status.NOT_FOUND, `content ${call.request.digest} not found`));
      void (async () => {
        if (stalled.has(call.request.digest)) {
          call.write(images.ReadContentResponse.fromPartial({ offset: 0, data: blob.subarray(0, CHUNK) }));
          return; // never ends: the client has to cancel
        }
        for (let off = 0; off < blob.length && !call.cancelled; off += CHUNK) {
          if (!call.write(images.ReadContentResponse.fromPartial({ offset: off, data: blob.subarray(off, off + CHUNK) }))) {
            await new Promise((r) => call.once('drain', r));
          }
        }
        call.end();
      })();
    },
    writeContent: (call) => {
      noteNamespace(call.metadata);
      let ref = '';
      let expected = '';
      let total = 0;
      let parts: Buffer[] = [];
      let offset = 0;
      const answer = (action: images.WriteAction, digest = '') =>
        call.write(images.WriteContentResponse.fromPartial({ action, offset, total, digest }));
      call.on('data', (req: images.WriteContentRequest) => {
        if (req.ref !== '') {
          if (ref !== '' && req.ref !== ref) return call.emit('error', fail(grpc.status.INVALID_ARGUMENT, 'ref changed mid-stream'));
          ref = req.ref;
        }
        if (ref === '') return call.emit('error', fail(grpc.status.INVALID_ARGUMENT, 'the first message needs a ref'));
        if (req.expected !== '') expected = req.expected;
        if (req.total !== 0) total = req.total;
        if (req.action === images.WriteAction.STAT) return answer(req.action);
        if (req.action !== images.WriteAction.WRITE && req.action !== images.WriteAction.COMMIT) {
          return call.emit('error', fail(grpc.status.INVALID_ARGUMENT, `bad action ${req.action}`));
        }
        if (req.offset === 0 && offset !== 0) {
          parts = [];
          offset = 0;
        }
        if (req.offset !== offset) return call.emit('error', fail(grpc.status.INVALID_ARGUMENT, `offset ${req.offset}, ingest is at ${offset}`));
        parts.push(Buffer.from(req.data));
        offset += req.data.length;
        if (req.action === images.WriteAction.WRITE) return answer(req.action);
        const data = Buffer.concat(parts);
        const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
        if (expected === '') return call.emit('error', fail(grpc.status.INVALID_ARGUMENT, 'COMMIT needs the expected digest'));
        if (digest !== expected || (total !== 0 && total !== data.length)) {
          return call.emit('error', fail(grpc.status.DATA_LOSS, `ingest ${ref}: got ${digest} (${data.length} bytes), expected ${expected} (${total} bytes)`));
        }
        blobs.set(digest, data);
        labels.set(digest, { ...req.labels });
        answer(req.action, digest);
      });
      call.on('end', () => call.end());
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
    labels,
    namespaces,
    stalled,
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        rmSync(socket, { force: true });
        resolve();
      }),
  };
}

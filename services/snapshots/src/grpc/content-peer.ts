import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { images } from '@berth/api';
import { StatusError } from '@berth/service-kit';

/** A layer blob read from the images service: iterate it once; destroy() cancels the read. */
export interface BlobReader extends AsyncIterable<Uint8Array> {
  /** The images-side failure that ended the read, if any (the apply reports its own view of it). */
  failure(): StatusError | undefined;
  destroy(): void;
}

export interface StoredBlob {
  digest: string;
  size: number;
}

const WRITE_CHUNK = 1 << 20;

/**
 * The images service's Content store as this service uses it: layer blobs
 * are read from it and computed layers written into it, always through its
 * gRPC API. Failures name the images service's address.
 */
export class ContentPeer {
  constructor(
    private readonly client: images.ContentClient,
    readonly address: string,
  ) {}

  close(): void {
    this.client.close();
  }

  /** A status error for a failed call to the images service. */
  peerError(err: unknown, what: string): StatusError {
    const e = err as Partial<grpc.ServiceError>;
    const detail = e.details ?? e.message ?? String(err);
    if (e.code === grpc.status.UNAVAILABLE) {
      return new StatusError(grpc.status.UNAVAILABLE, `the images service at ${this.address} is unavailable (${detail}); ${what} needs its content store`);
    }
    const code = typeof e.code === 'number' ? e.code : grpc.status.INTERNAL;
    return new StatusError(code, `${what}: images service at ${this.address}: ${detail}`);
  }

  /**
   * Streams a blob through Content.ReadContent. The call starts when the
   * reader is first iterated, so a request refused before it reads no bytes
   * never starts one.
   */
  read(digest: string, metadata: grpc.Metadata): BlobReader {
    let call: grpc.ClientReadableStream<images.ReadContentResponse> | undefined;
    let failure: StatusError | undefined;
    let settled = false;
    const cancel = () => {
      if (call && !settled) {
        settled = true; // what follows is our own cancellation, not the store's failure
        call.cancel();
      }
    };
    const describe = (err: unknown) =>
      (err as grpc.ServiceError).code === grpc.status.NOT_FOUND
        ? new StatusError(grpc.status.NOT_FOUND, `layer blob ${digest} is not in the content store of the images service at ${this.address}`)
        : this.peerError(err, `reading layer blob ${digest}`);
    const client = this.client;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const c = client.readContent(images.ReadContentRequest.fromPartial({ digest }), metadata);
      call = c;
      try {
        for await (const msg of c as AsyncIterable<images.ReadContentResponse>) yield msg.data;
        settled = true;
      } catch (err) {
        if (settled) throw err;
        settled = true;
        failure = describe(err);
        throw failure;
      } finally {
        cancel();
      }
    }
    const it = chunks();
    return {
      [Symbol.asyncIterator]: () => it,
      failure: () => failure,
      destroy: () => {
        cancel();
        void it.return(undefined).catch(() => undefined);
      },
    };
  }

  /** Whether the content store holds the blob. */
  async has(digest: string, metadata: grpc.Metadata): Promise<boolean> {
    try {
      await new Promise<images.GetContentInfoResponse>((resolve, reject) =>
        this.client.getContentInfo(images.GetContentInfoRequest.fromPartial({ digest }), metadata, (err, res) => (err ? reject(err) : resolve(res))),
      );
      return true;
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return false;
      throw this.peerError(err, `looking up blob ${digest}`);
    }
  }

  /**
   * Writes a file into the content store through Content.WriteContent: one
   * ingest (fresh ref, offset 0), WRITE messages of up to 1 MiB, then COMMIT
   * with the expected digest and size, which the store verifies. A blob the
   * store already holds is not written again.
   */
  async write(path: string, blob: StoredBlob, labels: Record<string, string>, metadata: grpc.Metadata): Promise<void> {
    if (await this.has(blob.digest, metadata)) return;
    const what = `writing layer ${blob.digest} into the content store`;
    const ref = `snapshots-diff-${blob.digest.slice('sha256:'.length, 'sha256:'.length + 16)}-${randomBytes(4).toString('hex')}`;
    const call = this.client.writeContent(metadata);
    let failed: unknown;
    // Done at the COMMIT answer: the blob is stored and verified by then, whether or not the server ends the stream.
    const committed = new Promise<images.WriteContentResponse>((resolve, reject) => {
      call.on('data', (r: images.WriteContentResponse) => {
        if (r.action === images.WriteAction.COMMIT) resolve(r);
      });
      call.on('error', (err) => {
        failed = err;
        reject(err);
      });
      call.on('end', () =>
        reject(new StatusError(grpc.status.INTERNAL, `${what}: the images service at ${this.address} ended the ingest without confirming the commit`)),
      );
    });
    committed.catch(() => undefined);
    const send = async (req: images.WriteContentRequest) => {
      if (failed !== undefined) return;
      if (!call.write(req)) await Promise.race([once(call, 'drain'), committed]);
    };
    try {
      let offset = 0;
      for await (const chunk of createReadStream(path, { highWaterMark: WRITE_CHUNK })) {
        const data = chunk as Buffer;
        await send(
          images.WriteContentRequest.fromPartial({ action: images.WriteAction.WRITE, ref, total: blob.size, expected: blob.digest, offset, data }),
        );
        offset += data.length;
        if (failed !== undefined) break;
      }
      await send(
        images.WriteContentRequest.fromPartial({ action: images.WriteAction.COMMIT, ref, total: blob.size, expected: blob.digest, offset, labels }),
      );
      call.end();
      const commit = await committed;
      if (commit.digest !== '' && commit.digest !== blob.digest) {
        throw new StatusError(grpc.status.DATA_LOSS, `${what}: the images service at ${this.address} committed ${commit.digest} instead`);
      }
      call.cancel(); // nothing more to hear; the commit is done
    } catch (err) {
      call.cancel();
      if (err instanceof StatusError) throw err;
      if ((err as grpc.ServiceError).code === grpc.status.ALREADY_EXISTS) return; // written meanwhile by someone else
      throw this.peerError(err, what);
    }
  }
}

// Seeding and reading the content store the way any client does: through
// the generated Content client (WriteContent, ReadContent).
import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { images } from '@berth/api';
import { createClient } from '@berth/service-kit';

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface ContentClient {
  /** Stores a blob (one COMMIT carrying all the data); returns its digest. */
  put(data: Buffer): Promise<string>;
  get(digest: string): Promise<Buffer>;
  info(digest: string): Promise<images.ContentInfo | undefined>;
  close(): void;
}

export function contentClient(address: string): ContentClient {
  const client = createClient(images.ContentClient, address);
  return {
    put: (data) =>
      new Promise<string>((resolve, reject) => {
        const digest = sha256(data);
        const call = client.writeContent();
        // Done at the COMMIT answer (the blob is stored by then); the stream is closed from here.
        call.on('data', (r: images.WriteContentResponse) => {
          if (r.action !== images.WriteAction.COMMIT) return;
          call.cancel();
          if (r.digest === digest) resolve(digest);
          else reject(new Error(`commit answered ${JSON.stringify(r.digest)}, wanted ${digest}`));
        });
        call.on('error', (err: grpc.ServiceError) => {
          if (err.code !== grpc.status.CANCELLED) reject(err);
        });
        call.on('end', () => reject(new Error('WriteContent ended without a COMMIT answer')));
        call.write(
          images.WriteContentRequest.fromPartial({
            action: images.WriteAction.COMMIT,
            ref: `test-${randomBytes(6).toString('hex')}`,
            total: data.length,
            expected: digest,
            offset: 0,
            data,
          }),
        );
        call.end();
      }),
    get: (digest) =>
      new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const call = client.readContent(images.ReadContentRequest.fromPartial({ digest }));
        call.on('data', (r: images.ReadContentResponse) => parts.push(Buffer.from(r.data)));
        call.on('error', (err: grpc.ServiceError) => reject(err));
        call.on('end', () => resolve(Buffer.concat(parts)));
      }),
    info: (digest) =>
      new Promise<images.ContentInfo | undefined>((resolve, reject) =>
        client.getContentInfo(images.GetContentInfoRequest.fromPartial({ digest }), (err, res) => (err ? reject(err) : resolve(res.info))),
      ),
    close: () => client.close(),
  };
}

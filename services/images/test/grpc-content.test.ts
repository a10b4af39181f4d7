// The Content and Leases APIs of the real images service over gRPC: resumable
// writes by ref, ranged reads, labels, ingests, leases and prune.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images } from '@berth/api';
import { collect, grpcError, rpc, startImagesService, type ImagesHarness } from './grpc-harness.js';

const { WriteAction } = images;

let svc: ImagesHarness;

beforeAll(async () => {
  svc = await startImagesService();
});
afterAll(async () => {
  await svc?.stop();
});

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One WriteContent stream driven message by message: send() resolves with the answer to that message. */
function openWriter() {
  const call = svc.clients.content.writeContent();
  const answers: images.WriteContentResponse[] = [];
  const waiting: { resolve: (r: images.WriteContentResponse) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | undefined;
  call.on('data', (r: images.WriteContentResponse) => {
    const w = waiting.shift();
    if (w) w.resolve(r);
    else answers.push(r);
  });
  call.on('error', (err: Error) => {
    failure = err;
    for (const w of waiting.splice(0)) w.reject(err);
  });
  const ended = new Promise<void>((resolve) => call.on('status', () => resolve()));
  return {
    send(req: Partial<images.WriteContentRequest>): Promise<images.WriteContentResponse> {
      if (failure) return Promise.reject(failure);
      const answer = new Promise<images.WriteContentResponse>((resolve, reject) => {
        const queued = answers.shift();
        if (queued) resolve(queued);
        else waiting.push({ resolve, reject });
      });
      call.write(images.WriteContentRequest.fromPartial(req));
      return answer;
    },
    async end(): Promise<void> {
      call.end();
      await ended;
    },
    cancel(): void {
      call.cancel();
    },
  };
}

const info = (digest: string) => rpc<images.GetContentInfoResponse>((cb) => svc.clients.content.getContentInfo({ digest }, cb));
const read = (digest: string, offset = 0, size = 0) =>
  collect(svc.clients.content.readContent({ digest, offset, size })).then((chunks) => Buffer.concat(chunks.map((c) => c.data)));
const ingest = (ref: string) => rpc<images.GetIngestResponse>((cb) => svc.clients.content.getIngest({ ref }, cb));
const prune = () => rpc<images.PruneContentResponse>((cb) => svc.clients.content.pruneContent({ dryRun: false, staleIngestSeconds: 0 }, cb));

describe('Content.WriteContent', () => {
  const blob = randomBytes(3 * 1024 * 1024 + 17);
  const digest = sha256(blob);
  const ref = 'upload-1';

  it('resumes an interrupted ingest by ref: stat, write at the offset, commit with the expected digest', async () => {
    const first = openWriter();
    const stat = await first.send({ action: WriteAction.STAT, ref, total: blob.length, expected: digest });
    expect(stat).toMatchObject({ action: WriteAction.STAT, offset: 0, total: blob.length });
    const part = await first.send({ action: WriteAction.WRITE, offset: 0, data: blob.subarray(0, 1_000_000) });
    expect(part.offset).toBe(1_000_000);
    await first.end(); // the client goes away before committing

    const status = await ingest(ref);
    expect(status.status).toMatchObject({ ref, offset: 1_000_000, total: blob.length, expected: digest });
    const listed = await rpc<images.ListIngestsResponse>((cb) => svc.clients.content.listIngests({ filters: ['ref=upload-*'] }, cb));
    expect(listed.statuses.map((s) => s.ref)).toEqual([ref]);

    const second = openWriter();
    // A resumed stream may leave out what the ingest already knows.
    const resumed = await second.send({ action: WriteAction.STAT, ref });
    expect(resumed).toMatchObject({ offset: 1_000_000, total: blob.length });
    const wrongOffset = await grpcError(second.send({ action: WriteAction.WRITE, offset: 5, data: blob.subarray(5, 10) }));
    expect(wrongOffset.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(wrongOffset.details).toContain('is at offset 1000000, not 5');

    const third = openWriter();
    await third.send({ action: WriteAction.STAT, ref });
    await third.send({ action: WriteAction.WRITE, offset: 1_000_000, data: blob.subarray(1_000_000, 2_000_000) });
    const committed = await third.send({
      action: WriteAction.COMMIT,
      offset: 2_000_000,
      data: blob.subarray(2_000_000),
      labels: { 'example.com/purpose': 'test' },
    });
    expect(committed).toMatchObject({ action: WriteAction.COMMIT, digest, offset: blob.length });
    await third.end();

    expect((await info(digest)).info).toMatchObject({ digest, size: blob.length, labels: { 'example.com/purpose': 'test' } });
    expect((await grpcError(ingest(ref))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('reads a blob whole and in ranges', async () => {
    expect((await read(digest)).equals(blob)).toBe(true);
    expect((await read(digest, 123, 4567)).equals(blob.subarray(123, 123 + 4567))).toBe(true);
    expect((await read(digest, blob.length - 10)).equals(blob.subarray(blob.length - 10))).toBe(true);
    const chunks = await collect(svc.clients.content.readContent({ digest, offset: 1_000_000, size: 0 }));
    expect(chunks[0]?.offset).toBe(1_000_000);
    expect(chunks[1]?.offset).toBe(1_000_000 + chunks[0]!.data.length);
    const past = await grpcError(read(digest, 0, blob.length + 1));
    expect(past.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(past.details).toContain('runs past size');
    expect((await grpcError(read(sha256(Buffer.from('absent'))))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(read('sha256:xyz'))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('locks a ref to one stream: a second writer is ABORTED', async () => {
    const holder = openWriter();
    await holder.send({ action: WriteAction.STAT, ref: 'locked' });
    const other = openWriter();
    const err = await grpcError(other.send({ action: WriteAction.STAT, ref: 'locked' }));
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.details).toContain('"locked"');
    await holder.end();
    await rpc((cb) => svc.clients.content.abortIngest({ ref: 'locked' }, cb));
    expect((await grpcError(ingest('locked'))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('a commit whose bytes do not match the expected digest is DATA_LOSS, and nothing is kept', async () => {
    const w = openWriter();
    const bytes = Buffer.from('not what was promised');
    const wrong = sha256(Buffer.from('something else'));
    const err = await grpcError(w.send({ action: WriteAction.COMMIT, ref: 'bad-commit', expected: wrong, data: bytes }));
    expect(err.code).toBe(grpc.status.DATA_LOSS);
    expect(err.details).toContain(`expected ${wrong}, got ${sha256(bytes)}`);
    expect((await grpcError(info(sha256(bytes)))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(ingest('bad-commit'))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('refuses a commit without an expected digest and a write past the total', async () => {
    const w = openWriter();
    const noDigest = await grpcError(w.send({ action: WriteAction.COMMIT, ref: 'no-digest', data: Buffer.from('x') }));
    expect(noDigest.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noDigest.details).toContain('expected digest is required');
    await rpc((cb) => svc.clients.content.abortIngest({ ref: 'no-digest' }, cb));

    const v = openWriter();
    const tooMuch = await grpcError(v.send({ action: WriteAction.WRITE, ref: 'too-much', total: 3, data: Buffer.from('four') }));
    expect(tooMuch.code).toBe(grpc.status.DATA_LOSS);
    const noRef = await grpcError(openWriter().send({ action: WriteAction.STAT }));
    expect(noRef.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('Content metadata and prune', () => {
  async function writeBlob(bytes: Buffer, leaseId = ''): Promise<string> {
    const w = openWriter();
    const r = await w.send({ action: WriteAction.COMMIT, ref: `blob-${sha256(bytes)}`, expected: sha256(bytes), data: bytes, leaseId });
    await w.end();
    return r.digest;
  }

  it('lists with filters and updates labels by field mask', async () => {
    const d = await writeBlob(Buffer.from('labelled blob'));
    await rpc((cb) =>
      svc.clients.content.updateContent(images.UpdateContentRequest.fromPartial({ digest: d, labels: { a: '1', b: '2' } }), cb),
    );
    const one = await rpc<images.UpdateContentResponse>((cb) =>
      svc.clients.content.updateContent(
        images.UpdateContentRequest.fromPartial({ digest: d, labels: { c: '3' }, updateMask: ['labels.a', 'labels.c'] }),
        cb,
      ),
    );
    expect(one.info?.labels).toEqual({ b: '2', c: '3' });
    const byLabel = await rpc<images.ListContentResponse>((cb) => svc.clients.content.listContent({ filters: ['label=c=3'] }, cb));
    expect(byLabel.infos.map((i) => i.digest)).toEqual([d]);
    const byDigest = await rpc<images.ListContentResponse>((cb) => svc.clients.content.listContent({ filters: [`digest=${d}`] }, cb));
    expect(byDigest.infos).toHaveLength(1);
    const badMask = await grpcError(
      rpc((cb) => svc.clients.content.updateContent(images.UpdateContentRequest.fromPartial({ digest: d, updateMask: ['size'] }), cb)),
    );
    expect(badMask.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('prune removes unreferenced blobs but keeps what a lease holds, until the lease ends', async () => {
    const lease = await rpc<images.CreateLeaseResponse>((cb) =>
      svc.clients.leases.createLease({ id: 'keep-me', labels: { why: 'test' }, ttlSeconds: 0 }, cb),
    );
    expect(lease.lease).toMatchObject({ id: 'keep-me', labels: { why: 'test' } });
    expect(lease.lease?.expiresAt).toBeUndefined();
    const held = await writeBlob(Buffer.from('held by a lease'), 'keep-me');
    const loose = await writeBlob(Buffer.from('held by nothing'));

    const resources = await rpc<images.ListLeaseResourcesResponse>((cb) => svc.clients.leases.listLeaseResources({ id: 'keep-me' }, cb));
    expect(resources.resources).toContainEqual(images.LeaseResource.fromPartial({ id: held, type: 'content' }));

    const dry = await rpc<images.PruneContentResponse>((cb) => svc.clients.content.pruneContent({ dryRun: true, staleIngestSeconds: 0 }, cb));
    expect(dry.removed.map((r) => r.digest)).toContain(loose);
    expect((await info(loose)).info?.digest).toBe(loose);

    const pruned = await prune();
    const removed = pruned.removed.map((r) => r.digest);
    expect(removed).toContain(loose);
    expect(removed).not.toContain(held);
    expect((await grpcError(info(loose))).code).toBe(grpc.status.NOT_FOUND);

    await rpc((cb) => svc.clients.leases.deleteLease({ id: 'keep-me', sync: true }, cb));
    expect((await grpcError(info(held))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('manages leases and their resources', async () => {
    const created = await rpc<images.CreateLeaseResponse>((cb) => svc.clients.leases.createLease({ id: '', labels: { job: 'x' }, ttlSeconds: 60 }, cb));
    const id = created.lease!.id;
    expect(id).not.toBe('');
    expect(created.lease?.expiresAt?.seconds).toBeGreaterThan(created.lease!.createdAt!.seconds);
    const digest = sha256(Buffer.from('whatever'));
    await rpc((cb) => svc.clients.leases.addLeaseResource({ id, resource: { id: digest, type: 'content' } }, cb));
    await rpc((cb) => svc.clients.leases.addLeaseResource({ id, resource: { id: 'an-ingest', type: 'ingest' } }, cb));
    const res = await rpc<images.ListLeaseResourcesResponse>((cb) => svc.clients.leases.listLeaseResources({ id }, cb));
    expect(res.resources).toEqual([
      images.LeaseResource.fromPartial({ id: digest, type: 'content' }),
      images.LeaseResource.fromPartial({ id: 'an-ingest', type: 'ingest' }),
    ]);
    await rpc((cb) => svc.clients.leases.deleteLeaseResource({ id, resource: { id: 'an-ingest', type: 'ingest' } }, cb));
    const after = await rpc<images.ListLeaseResourcesResponse>((cb) => svc.clients.leases.listLeaseResources({ id }, cb));
    expect(after.resources.map((r) => r.type)).toEqual(['content']);
    const listed = await rpc<images.ListLeasesResponse>((cb) => svc.clients.leases.listLeases({ filters: ['label=job=x'] }, cb));
    expect(listed.leases.map((l) => l.id)).toEqual([id]);

    const badType = await grpcError(rpc((cb) => svc.clients.leases.addLeaseResource({ id, resource: { id: 'x', type: 'snapshot' } }, cb)));
    expect(badType.code).toBe(grpc.status.INVALID_ARGUMENT);
    const dup = await grpcError(rpc((cb) => svc.clients.leases.createLease({ id, labels: {}, ttlSeconds: 0 }, cb)));
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    await rpc((cb) => svc.clients.leases.deleteLease({ id, sync: false }, cb));
    expect((await grpcError(rpc((cb) => svc.clients.leases.deleteLease({ id, sync: false }, cb)))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('deletes a blob by digest', async () => {
    const d = await writeBlob(Buffer.from('to be deleted'));
    await rpc((cb) => svc.clients.content.deleteContent({ digest: d }, cb));
    expect((await grpcError(info(d))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(rpc((cb) => svc.clients.content.deleteContent({ digest: d }, cb)))).code).toBe(grpc.status.NOT_FOUND);
  });
});

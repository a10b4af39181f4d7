// One WriteContent stream: open (or resume) the ingest named by the first
// message's ref, then STAT / WRITE / COMMIT messages against it, each
// answered with where the ingest stands. The stream holds the ref's lock;
// a second stream for the same ref is ABORTED. A stream that ends (or
// breaks) before COMMIT keeps the ingest, so a new stream resumes it.
import { images, timestampFromDate } from '@berth/api';
import { parseDigest, type Digest } from '@berth/oci';
import type { ContentStore } from '../content/store.js';
import type { ContentWriter } from '../content/writer.js';
import { ImagesError, failedPrecondition, invalidArgument, messageOf } from '../errors.js';
import { validateLabels, type Labels } from '../labels.js';
import type { LeaseManager } from '../leases.js';

const { WriteAction } = images;

export interface WriteDeps {
  content: ContentStore;
  leases: LeaseManager;
}

/** Runs one WriteContent stream to its end. */
export async function runWriteStream(
  deps: WriteDeps,
  requests: AsyncIterable<images.WriteContentRequest>,
  send: (res: images.WriteContentResponse) => Promise<void>,
): Promise<void> {
  let session: WriteSession | undefined;
  try {
    for await (const req of requests) {
      session ??= await WriteSession.open(deps, req);
      await send(await session.handle(req));
    }
  } finally {
    await session?.close();
  }
}

class WriteSession {
  private committed: Digest | undefined;
  private updatedAt: Date;
  private readonly labels: Labels = {};

  private constructor(
    private readonly deps: WriteDeps,
    private readonly writer: ContentWriter,
    private expected: Digest | undefined,
    private total: number | undefined,
    private readonly startedAt: Date,
    updatedAt: Date,
    private readonly leaseId: string | undefined,
  ) {
    this.updatedAt = updatedAt;
  }

  static async open(deps: WriteDeps, first: images.WriteContentRequest): Promise<WriteSession> {
    const ref = first.ref;
    if (ref === '') throw invalidArgument('WriteContent: the first message must name the ingest ref');
    // A resumed stream may leave out what the ingest already knows.
    const existing = await deps.content.status(ref).catch(() => undefined);
    const expected = digestOf(first.expected, ref) ?? existing?.expected;
    const total = sizeOf(first.total, ref) ?? existing?.total;
    const leaseId = first.leaseId || undefined;
    if (leaseId !== undefined) deps.leases.addResource(leaseId, { kind: 'ingest', id: ref });
    const writer = await deps.content.writer(ref, {
      ...(expected ? { expected } : {}),
      ...(total !== undefined ? { total } : {}),
      noWait: true,
    });
    try {
      const status = await deps.content.status(ref);
      return new WriteSession(deps, writer, expected, total, status.startedAt, status.updatedAt, leaseId);
    } catch (err) {
      await writer.close();
      throw err;
    }
  }

  async handle(req: images.WriteContentRequest): Promise<images.WriteContentResponse> {
    const ref = this.writer.ref;
    if (this.committed) throw failedPrecondition(`ingest ${JSON.stringify(ref)} was already committed as ${this.committed}`);
    if (req.ref !== '' && req.ref !== ref) {
      throw invalidArgument(`WriteContent: this stream writes ingest ${JSON.stringify(ref)}, not ${JSON.stringify(req.ref)}`);
    }
    this.expected = agree('expected digest', ref, this.expected, digestOf(req.expected, ref));
    this.total = agree('total size', ref, this.total, sizeOf(req.total, ref));
    if (Object.keys(req.labels).length > 0) Object.assign(this.labels, validateLabels(req.labels, `ingest ${JSON.stringify(ref)}`));

    switch (req.action) {
      case WriteAction.STAT:
        return this.answer(req.action);
      case WriteAction.WRITE:
        await this.writeAt(req.offset, req.data);
        return this.answer(req.action);
      case WriteAction.COMMIT: {
        if (this.expected === undefined) {
          throw invalidArgument(`WriteContent COMMIT of ingest ${JSON.stringify(ref)}: the expected digest is required`);
        }
        await this.writeAt(req.offset, req.data);
        const leaseId = this.leaseId;
        const info = await this.writer.commit({
          expected: this.expected,
          ...(this.total !== undefined ? { size: this.total } : {}),
          labels: this.labels,
          ...(leaseId !== undefined
            ? { onCommit: (digest: Digest) => this.deps.leases.addResource(leaseId, { kind: 'content', id: digest }) }
            : {}),
        });
        this.committed = info.digest;
        return images.WriteContentResponse.fromPartial({
          action: req.action,
          startedAt: timestampFromDate(this.startedAt),
          updatedAt: timestampFromDate(info.updatedAt),
          offset: info.size,
          total: info.size,
          digest: info.digest,
        });
      }
      default:
        throw invalidArgument(`WriteContent: action ${JSON.stringify(req.action)} is not STAT, WRITE or COMMIT`);
    }
  }

  /** Keeps the ingest (for a later stream to resume) unless it was committed or discarded. */
  async close(): Promise<void> {
    await this.writer.close();
  }

  /** Writes `data` at `offset`: the ingest's current offset appends, 0 restarts it, anything else is refused. */
  private async writeAt(offset: number, data: Buffer): Promise<void> {
    const ref = this.writer.ref;
    if (offset < 0) throw invalidArgument(`WriteContent: offset ${offset} of ingest ${JSON.stringify(ref)} is negative`);
    if (data.byteLength === 0 && (offset === 0 || offset === this.writer.offset)) return;
    if (offset !== this.writer.offset) {
      if (offset !== 0) {
        throw new ImagesError(
          'OUT_OF_RANGE',
          `WriteContent: ingest ${JSON.stringify(ref)} is at offset ${this.writer.offset}, not ${offset}; write at ${this.writer.offset} to resume or at 0 to restart`,
        );
      }
      await this.writer.truncate();
    }
    await this.writer.write(data);
    this.updatedAt = new Date();
  }

  private answer(action: images.WriteAction): images.WriteContentResponse {
    return images.WriteContentResponse.fromPartial({
      action,
      startedAt: timestampFromDate(this.startedAt),
      updatedAt: timestampFromDate(this.updatedAt),
      offset: this.writer.offset,
      total: this.total ?? 0,
    });
  }
}

function digestOf(value: string, ref: string): Digest | undefined {
  if (value === '') return undefined;
  try {
    return parseDigest(value).digest;
  } catch (err) {
    throw invalidArgument(`WriteContent of ingest ${JSON.stringify(ref)}: expected ${JSON.stringify(value)}: ${messageOf(err)}`);
  }
}

function sizeOf(value: number, ref: string): number | undefined {
  if (value === 0) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`WriteContent of ingest ${JSON.stringify(ref)}: total ${value} is not a valid size`);
  }
  return value;
}

/** A later message may state what the stream already knows, or tell something new, but not contradict it. */
function agree<T>(what: string, ref: string, known: T | undefined, told: T | undefined): T | undefined {
  if (told === undefined) return known;
  if (known !== undefined && known !== told) {
    throw invalidArgument(`WriteContent of ingest ${JSON.stringify(ref)}: ${what} ${String(told)} contradicts the ${what} ${String(known)} given before`);
  }
  return told;
}

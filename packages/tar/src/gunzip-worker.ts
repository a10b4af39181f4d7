/**
 * Worker side of gunzipOffThread (gunzip-thread.ts): inflates the
 * compressed chunks the parent posts and posts the output back in batches
 * of up to 1 MiB, transferred, not copied. Inflating and zlib's stream
 * bookkeeping then happen beside the thread that parses tar and writes
 * files, and ahead of it.
 *
 * Flow control, both ways: the parent keeps at most a few MiB of input in
 * flight ('consumed' returns credit once zlib has taken a chunk), and this
 * side stops inflating while OUTPUT_AHEAD bytes are posted but not yet
 * taken by the reader ('ack' returns them). A stalled reader therefore
 * stalls zlib, which stalls the credit, which stalls the input.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';

export interface GunzipWorkerData {
  /** Also hash the output (sha256), so the parent need not: the digest comes with 'end'. */
  sha256: boolean;
}

export type ToWorker =
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'end' }
  /** The reader took `bytes` of output. */
  | { type: 'ack'; bytes: number };

export type FromWorker =
  | { type: 'data'; chunk: ArrayBuffer }
  /** zlib took `bytes` of input: credit for more. */
  | { type: 'consumed'; bytes: number }
  | { type: 'end'; sha256?: string }
  | { type: 'error'; message: string };

/** Output is posted in batches up to this size, or sooner when zlib has no input left to work on. */
const BATCH = 1 << 20;
/** Inflated bytes posted and not yet taken by the reader before inflating pauses. */
const OUTPUT_AHEAD = 8 << 20;

function run(port: NonNullable<typeof parentPort>, opts: GunzipWorkerData): void {
  const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const z = createGunzip({ chunkSize: 256 * 1024 });
  const hash = opts.sha256 ? createHash('sha256') : undefined;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let ahead = 0;
  let writing = 0;
  let failed = false;

  const flush = () => {
    if (batchBytes === 0) return;
    const out = Buffer.allocUnsafeSlow(batchBytes); // its own ArrayBuffer, to transfer
    let at = 0;
    for (const b of batch) {
      out.set(b, at);
      at += b.length;
    }
    batch = [];
    batchBytes = 0;
    ahead += out.length;
    post({ type: 'data', chunk: out.buffer }, [out.buffer]);
    if (ahead >= OUTPUT_AHEAD) z.pause();
  };

  let flushQueued = false;
  const flushSoon = () => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      flush();
    });
  };

  z.on('data', (chunk: Buffer) => {
    hash?.update(chunk);
    batch.push(chunk);
    batchBytes += chunk.length;
    if (batchBytes >= BATCH) flush();
    // output with no input being worked on (zlib resumed after a pause): nothing else would send it
    else if (writing === 0) flushSoon();
  });
  z.on('end', () => {
    flush();
    post(hash ? { type: 'end', sha256: hash.digest('hex') } : { type: 'end' });
  });
  z.on('error', (err) => {
    failed = true;
    flush(); // what inflated before the damage, as the inline path would have yielded it
    post({ type: 'error', message: err.message });
  });

  port.on('message', (m: ToWorker) => {
    if (failed) return;
    switch (m.type) {
      case 'data':
        writing++;
        z.write(m.chunk, () => {
          writing--;
          // no more input queued: send what there is rather than wait for a full batch
          if (writing === 0) flush();
          post({ type: 'consumed', bytes: m.chunk.length });
        });
        return;
      case 'end':
        z.end();
        return;
      case 'ack':
        ahead -= m.bytes;
        if (ahead < OUTPUT_AHEAD && z.isPaused()) z.resume();
        return;
    }
  });
}

if (parentPort) run(parentPort, workerData as GunzipWorkerData);

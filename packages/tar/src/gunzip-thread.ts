/**
 * gzip decompression on a worker thread (the worker is gunzip-worker.ts):
 * for a layer, inflating is a third of the CPU work; on its own thread it
 * runs on another core, ahead of the tar parsing and file writes on this
 * one. The worker starts with the first read and is terminated when the
 * stream ends, fails or is closed early.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CompressionError } from './errors.js';
import type { FromWorker, GunzipWorkerData, ToWorker } from './gunzip-worker.js';

/** Compressed bytes posted to the worker and not yet taken by zlib. */
const INPUT_AHEAD = 4 << 20;

/**
 * The compiled worker beside this module (dist/, and in a service bundle,
 * which ships packages' dist/ whole). Run from the TypeScript sources (the
 * package's own tests), this module is src/*.ts and the worker is taken
 * from dist/, which the test target builds first.
 */
export function gunzipWorkerPath(): string {
  const fromSources = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(fromSources ? '../dist/gunzip-worker.js' : './gunzip-worker.js', import.meta.url));
  if (!existsSync(path)) throw new CompressionError(`the gzip worker ${path} is missing: build @berth/tar`, 'gzip', 'unavailable');
  return path;
}

export interface GunzipOptions {
  /** Receives the sha256 (hex) of the inflated bytes, computed on the worker, when the stream has ended. */
  onSha256?: (hex: string) => void;
}

let liveWorkers = 0;

/** Gzip workers running now (they end with their stream: a test's check that none is left behind). */
export function liveGunzipWorkers(): number {
  return liveWorkers;
}

/** The inflated bytes of a gzip stream (several members are read one after the other, as zlib does). */
export async function* gunzipOffThread(input: AsyncIterable<Buffer>, opts: GunzipOptions = {}): AsyncGenerator<Buffer> {
  const workerData: GunzipWorkerData = { sha256: opts.onSha256 !== undefined };
  const worker = new Worker(gunzipWorkerPath(), { workerData });
  liveWorkers++;
  const send = (m: ToWorker) => worker.postMessage(m);
  const output: Buffer[] = [];
  let ended = false;
  let closing = false;
  let failure: Error | undefined;
  let inputAhead = 0;
  /** Wakes whichever side waits: the reader (for output) or the feeder (for credit). */
  let wake: (() => void)[] = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  };
  const waitForNews = () => new Promise<void>((resolve) => wake.push(resolve));
  const fail = (err: Error) => {
    failure ??= err;
    notify();
  };

  worker.on('message', (m: FromWorker) => {
    if (m.type === 'data') output.push(Buffer.from(m.chunk));
    else if (m.type === 'consumed') inputAhead -= m.bytes;
    else if (m.type === 'end') {
      ended = true;
      if (m.sha256 !== undefined) opts.onSha256?.(m.sha256);
    }
    else fail(new CompressionError(`gzip stream is corrupt or truncated: ${m.message}`, 'gzip', 'corrupt'));
    notify();
  });
  worker.on('error', (err) => fail(new CompressionError(`the gzip worker failed: ${err.message}`, 'gzip', 'failed', err)));
  worker.on('exit', (code) => {
    liveWorkers--;
    if (!closing && !ended) fail(new CompressionError(`the gzip worker exited (code ${code}) before the end of the stream`, 'gzip', 'failed'));
  });

  const source = input[Symbol.asyncIterator]();
  let reading = false;
  const feed = async () => {
    for (;;) {
      while (inputAhead >= INPUT_AHEAD && !closing && !failure) await waitForNews();
      if (closing || failure) return;
      reading = true;
      const r = await source.next();
      reading = false;
      if (closing || failure) return;
      if (r.done) {
        send({ type: 'end' });
        return;
      }
      inputAhead += r.value.length;
      // Copied into a buffer of its own and transferred: posting the chunk as it is would
      // clone the whole ArrayBuffer behind it (a pool, a network frame), and cost more.
      const own = Buffer.allocUnsafeSlow(r.value.length);
      r.value.copy(own);
      worker.postMessage({ type: 'data', chunk: own } satisfies ToWorker, [own.buffer]);
    }
  };
  // The source's own failure (a read error, a cancelled download) is passed on as it is.
  feed().catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));

  try {
    for (;;) {
      const chunk = output.shift();
      if (chunk) {
        send({ type: 'ack', bytes: chunk.length });
        yield chunk;
      } else if (failure) throw failure;
      else if (ended) return;
      else await waitForNews();
    }
  } finally {
    closing = true;
    notify();
    await worker.terminate();
    // Release the source (file, socket). A read still in flight cannot be
    // interrupted from here: its return() runs once that read settles.
    const released = source.return?.();
    if (!reading) await released?.catch(() => undefined);
    else void released?.catch(() => undefined);
  }
}

import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@berth/telemetry';

export { startNats, type TestNats } from '../../testkit/src/nats.js';

/** A JSON logger whose lines the test can read. */
export function captureLogger(service = 'test', node = 'node-1'): { logger: Logger; entries: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: createLogger({ service, node, destination: stream, level: 'debug' }),
    entries: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Polls until check() returns a value other than undefined; fails naming `what` after a generous bound. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  boundMs = 15_000,
): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A promise with its resolve exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

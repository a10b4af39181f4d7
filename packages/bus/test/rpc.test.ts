// JSON request/reply over a real nats-server: results, error codes that
// survive the trip, no responders, timeouts, queue groups, trace propagation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTracing, SpanKind, trace, withSpan, type Tracing } from '@berth/telemetry';
import {
  BusRequestError,
  connectBus,
  nodeRpcSubject,
  RpcCodes,
  serviceRpcSubject,
  type Bus,
} from '../src/index.js';
import { captureLogger, deferred, startNats, waitFor, type TestNats } from './helpers.js';

let tracing: Tracing;
let nats: TestNats;
let client: Bus;
let server: Bus;
const serverLog = captureLogger('agent', 'node-1');

beforeAll(async () => {
  tracing = initTracing({ service: 'rpc-test', node: 'node-0', version: '0.0.0', memory: true });
  nats = await startNats({ jetstream: false });
  client = await connectBus({ servers: nats.url, service: 'cli', node: 'node-0', jetstream: false, logger: captureLogger().logger });
  server = await connectBus({ servers: nats.url, service: 'agent', node: 'node-1', jetstream: false, logger: serverLog.logger });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await nats?.stop();
  await tracing?.shutdown();
});

async function rejection(promise: Promise<unknown>): Promise<BusRequestError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(BusRequestError);
    return err as BusRequestError;
  }
  throw new Error('expected the request to fail');
}

describe('request/serve', () => {
  it('returns the result and continues the caller trace in the server', async () => {
    const subject = nodeRpcSubject('node-1', 'containers.run');
    let serverTrace: string | undefined;
    const stop = server.serve<{ image: string }, { id: string }>(subject, (req) => {
      serverTrace = trace.getActiveSpan()?.spanContext().traceId;
      serverLog.logger.info('running container');
      return { id: `c-${req.image}` };
    });
    await server.flush();
    const { result, root } = await withSpan(tracing.tracer, 'berth run', {}, async (span) => ({
      result: await client.request<{ id: string }>(subject, { image: 'busybox' }),
      root: span.spanContext(),
    }));
    stop();
    expect(result).toEqual({ id: 'c-busybox' });
    expect(serverTrace).toBe(root.traceId);
    const clientSpan = await waitFor('client span', () =>
      tracing.memoryExporter?.getFinishedSpans().find((s) => s.name === `request ${subject}`),
    );
    const serverSpan = await waitFor('server span', () =>
      tracing.memoryExporter?.getFinishedSpans().find((s) => s.name === `serve ${subject}`),
    );
    expect(clientSpan.kind).toBe(SpanKind.CLIENT);
    expect(clientSpan.parentSpanContext?.spanId).toBe(root.spanId);
    expect(serverSpan.kind).toBe(SpanKind.SERVER);
    expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
    expect(serverLog.entries().find((e) => e.msg === 'running container')?.trace_id).toBe(root.traceId);
  });

  it('returns null for a handler that returns nothing, and accepts async handlers', async () => {
    const subject = nodeRpcSubject('node-1', 'containers.kill');
    const stop = server.serve(subject, async () => {
      await new Promise((r) => setImmediate(r));
    });
    await server.flush();
    expect(await client.request(subject, { id: 'x', signal: 'TERM' })).toBeNull();
    stop();
  });

  it('carries the error code and message of a throw back to the requester', async () => {
    const subject = nodeRpcSubject('node-1', 'containers.stop');
    const stop = server.serve<{ id: string }>(subject, (req) => {
      if (req.id === 'missing') throw new BusRequestError('NOT_FOUND', `container ${req.id} not found`);
      if (req.id === 'fs') throw Object.assign(new Error('ENOENT: no such file, open /x'), { code: 'ENOENT' });
      throw new Error('something broke');
    });
    await server.flush();

    const notFound = await rejection(client.request(subject, { id: 'missing' }));
    expect(notFound.code).toBe('NOT_FOUND');
    expect(notFound.message).toBe('container missing not found');
    expect(notFound.subject).toBe(subject);

    expect((await rejection(client.request(subject, { id: 'fs' }))).code).toBe('ENOENT');

    const internal = await rejection(client.request(subject, { id: 'other' }));
    expect(internal.code).toBe(RpcCodes.Internal);
    expect(internal.message).toBe('something broke');
    stop();

    const serverSpan = tracing.memoryExporter
      ?.getFinishedSpans()
      .filter((s) => s.name === `serve ${subject}`)
      .at(-1);
    expect(serverSpan?.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(serverLog.entries().some((e) => e.msg === 'request failed' && e.code === 'NOT_FOUND')).toBe(true);
  });

  it('answers BAD_REQUEST for a payload that is not JSON or fails validation', async () => {
    const subject = serviceRpcSubject('agent', 'exec');
    const stop = server.serve<{ cmd: string[] }>(subject, (req) => req.cmd.length, {
      validatePayload: (p) => {
        if (!Array.isArray((p as { cmd?: unknown } | null)?.cmd)) throw new Error('cmd must be an array');
        return p as { cmd: string[] };
      },
    });
    await server.flush();
    expect(await client.request(subject, { cmd: ['ls', '-l'] })).toBe(2);
    const invalid = await rejection(client.request(subject, { cmd: 'ls' }));
    expect(invalid.code).toBe(RpcCodes.BadRequest);
    expect(invalid.message).toBe(`bad request on ${subject}: cmd must be an array`);

    const raw = await client.connection.request(subject, new TextEncoder().encode('{oops'), { timeout: 5000 });
    const body = JSON.parse(new TextDecoder().decode(raw.data)) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(RpcCodes.BadRequest);
    expect(body.error.message).toMatch(/request on .* is not JSON/);
    stop();
  });

  it('fails clearly when nothing serves the subject', async () => {
    const subject = nodeRpcSubject('nowhere', 'containers.list');
    const err = await rejection(client.request(subject, {}));
    expect(err.code).toBe(RpcCodes.NoResponders);
    expect(err.message).toBe(`no responders for ${subject}: nothing is serving it`);
  });

  it('fails with TIMEOUT when the responder does not answer in time', async () => {
    const subject = nodeRpcSubject('node-1', 'slow');
    const release = deferred<void>();
    const stop = server.serve(subject, () => release.promise);
    await server.flush();
    const err = await rejection(client.request(subject, {}, { timeoutMs: 200 }));
    release.resolve();
    stop();
    expect(err.code).toBe(RpcCodes.Timeout);
    expect(err.message).toBe(`no reply on ${subject} within 200 ms`);
  });

  it('rejects a reply that is not { result } or { error }', async () => {
    const subject = nodeRpcSubject('node-1', 'raw');
    const sub = server.connection.subscribe(subject, { callback: (_e, msg) => msg.respond(new TextEncoder().encode('[1,2]')) });
    await server.flush();
    const err = await rejection(client.request(subject, {}));
    sub.unsubscribe();
    expect(err.code).toBe(RpcCodes.BadReply);
    expect(err.message).toMatch(/neither \{ result \} nor \{ error \}: \[1,2\]/);
  });

  it('serves berth.rpc.<service>.* in a queue group by default: each request is handled once', async () => {
    const subject = serviceRpcSubject('tasks', 'containers.list');
    const second = await connectBus({ servers: nats.url, service: 'tasks', node: 'node-2', jetstream: false, logger: captureLogger().logger });
    try {
      const handled = { a: 0, b: 0 };
      const stopA = server.serve(subject, () => ++handled.a);
      const stopB = second.serve(subject, () => ++handled.b);
      await Promise.all([server.flush(), second.flush()]);
      for (let i = 0; i < 20; i++) await client.request(subject, {});
      await Promise.all([server.flush(), second.flush()]);
      stopA();
      stopB();
      expect(handled.a + handled.b).toBe(20);
    } finally {
      await second.close();
    }
  });

  it('runs handlers concurrently', async () => {
    const subject = nodeRpcSubject('node-1', 'concurrent');
    const firstStarted = deferred<void>();
    const releaseFirst = deferred<void>();
    const stop = server.serve<{ n: number }>(subject, async (req) => {
      if (req.n === 1) {
        firstStarted.resolve();
        await releaseFirst.promise;
      }
      return req.n;
    });
    await server.flush();
    const first = client.request(subject, { n: 1 });
    await firstStarted.promise;
    // the second answers while the first is still in its handler
    expect(await client.request(subject, { n: 2 })).toBe(2);
    releaseFirst.resolve();
    expect(await first).toBe(1);
    stop();
  });

  it('refuses requests after close', async () => {
    const late = await connectBus({ servers: nats.url, service: 'cli', node: 'node-9', jetstream: false, logger: captureLogger().logger });
    await late.close();
    await late.close(); // twice is fine
    const err = await rejection(late.request(nodeRpcSubject('node-1', 'x'), {}));
    expect(err.code).toBe(RpcCodes.ConnectionClosed);
  });
});

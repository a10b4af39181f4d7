// One trace crosses a gRPC call and a NATS event between two services, and
// both services' log lines carry its trace id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { images, withUnimplemented } from '@berth/api';
import { eventSubject, type EventEnvelope } from '@berth/bus';
import { initTracing, trace, context } from '@berth/telemetry';
import { startNats } from '@berth/testkit';
import { baseConfigSchema } from '../src/config.js';
import { createClient } from '../src/grpc-client.js';
import { unary } from '../src/errors.js';
import { startService, type RunningService } from '../src/run-service.js';

const tracing = initTracing({ service: 'trace-test', node: 'n1', version: '0', memory: true });

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, stream };
}

let nats: Awaited<ReturnType<typeof startNats>>;
let dir: string;
const running: RunningService<typeof baseConfigSchema._output>[] = [];

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  dir = mkdtempSync(join(tmpdir(), 'berth-trace-'));
});
afterAll(async () => {
  for (const s of running) await s.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('trace propagation', () => {
  it('carries one trace id from a gRPC client through service A, a NATS event, into service B and their logs', async () => {
    const argv = (n: string) => ['--root', join(dir, 'r'), '--runtime-dir', join(dir, 'run'), '--nats.url', nats.url, '--node', n];
    const logsA = logSink();
    const logsB = logSink();
    let received!: (e: EventEnvelope<{ name: string }>) => void;
    const gotEvent = new Promise<EventEnvelope<{ name: string }>>((r) => (received = r));

    const b = await startService(
      {
        name: 'back',
        version: '0',
        configSchema: baseConfigSchema,
        setup: async (ctx) => {
          ctx.bus.subscribe<{ name: string }>(eventSubject('default', 'images.created'), (env) => {
            ctx.logger.info({ image: env.payload.name }, 'back saw image');
            received(env);
          });
          return { services: [] };
        },
      },
      { argv: argv('nb'), env: {}, logDestination: logsB.stream },
    );
    running.push(b);
    await b.ctx.bus.flush();

    const a = await startService(
      {
        name: 'front',
        version: '0',
        configSchema: baseConfigSchema,
        setup: async (ctx) => ({
          services: [
            {
              definition: images.ImagesService,
              handlers: withUnimplemented<images.ImagesServer>(images.ImagesService, {
                getImage: unary(async (req: images.GetImageRequest) => {
                  ctx.logger.info({ image: req.name }, 'front publishing');
                  await ctx.bus.publish('default', 'images.created', { name: req.name }, { durable: true });
                  return images.GetImageResponse.fromPartial({ image: { name: req.name } });
                }),
              }) as unknown as grpc.UntypedServiceImplementation,
            },
          ],
        }),
      },
      { argv: argv('na'), env: {}, logDestination: logsA.stream },
    );
    running.push(a);

    const client = createClient(images.ImagesClient, join(dir, 'run', 'front.sock'));
    const root = tracing.tracer.startSpan('cli');
    const traceId = root.spanContext().traceId;
    await context.with(trace.setSpan(context.active(), root), () =>
      new Promise<void>((resolve, reject) =>
        client.getImage({ name: 'busybox' }, (err) => (err ? reject(err) : resolve())),
      ),
    );
    root.end();
    client.close();

    const env = await gotEvent;
    expect(env.traceparent?.split('-')[1]).toBe(traceId);
    await new Promise((r) => setTimeout(r, 100));

    const spans = tracing.memoryExporter!.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const names = spans.map((s) => s.name);
    expect(names).toContain('berth.images.v1.Images/GetImage'); // client and server spans
    expect(names.filter((n) => n === 'berth.images.v1.Images/GetImage')).toHaveLength(2);
    expect(spans.length).toBeGreaterThanOrEqual(4); // + publish and consume spans

    const lineA = logsA.lines.find((l) => l['msg'] === 'front publishing');
    const lineB = logsB.lines.find((l) => l['msg'] === 'back saw image');
    expect(lineA?.['trace_id']).toBe(traceId);
    expect(lineB?.['trace_id']).toBe(traceId);
    expect(lineA?.['service']).toBe('front');
    expect(lineB?.['service']).toBe('back');
  });
});

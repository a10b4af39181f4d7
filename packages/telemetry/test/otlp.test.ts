// The OTLP exporter, switched on by the standard env var, really sends spans
// (to a local HTTP receiver standing in for a collector).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTracing, withSpan } from '../src/index.js';

let receiver: Server;
const received: Array<{ method: string; url: string; type: string; bytes: number }> = [];
const saved = { endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, exporter: process.env.OTEL_TRACES_EXPORTER };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        type: String(req.headers['content-type']),
        bytes: Buffer.concat(chunks).length,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  for (const [key, value] of [
    ['OTEL_EXPORTER_OTLP_ENDPOINT', saved.endpoint],
    ['OTEL_TRACES_EXPORTER', saved.exporter],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('OTLP export', () => {
  it('sends spans to OTEL_EXPORTER_OTLP_ENDPOINT and starts afresh after shutdown', async () => {
    delete process.env.OTEL_TRACES_EXPORTER;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const tracing = initTracing({ service: 'otlp-test', node: 'n1', version: '1.0.0' });
    expect(tracing.memoryExporter).toBeUndefined();
    withSpan(tracing.tracer, 'exported span', {}, () => undefined);
    await tracing.shutdown(); // flushes the batch
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/v1/traces' });
    expect(received[0]?.bytes).toBeGreaterThan(0);

    const again = initTracing({ service: 'otlp-test', node: 'n1', version: '1.0.0', memory: true });
    expect(again).not.toBe(tracing);
    expect(again.memoryExporter).toBeDefined();
    await again.shutdown();
  });
});

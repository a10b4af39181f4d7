import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type MetricsServer } from '../src/index.js';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createMetrics', () => {
  it('serves counters and default metrics over HTTP on 127.0.0.1', async () => {
    const metrics = createMetrics({ service: 'images', node: 'node-a' });
    const pulls = metrics.counter('berth_image_pulls_total', 'Image pulls', ['result']);
    pulls.inc({ result: 'ok' });
    pulls.inc({ result: 'ok' });
    metrics.histogram('berth_pull_seconds', 'Pull duration', [], [0.1, 1]).observe(0.5);
    metrics.gauge('berth_active_pulls', 'Pulls in flight').set(3);

    server = await metrics.serve({ port: 0 });
    expect(server.port).toBeGreaterThan(0);
    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    expect(res.body).toContain('berth_image_pulls_total{result="ok",service="images",node="node-a"} 2');
    expect(res.body).toContain('berth_pull_seconds_bucket{le="1",service="images",node="node-a"} 1');
    expect(res.body).toContain('berth_active_pulls{service="images",node="node-a"} 3');
    expect(res.body).toMatch(/process_cpu_user_seconds_total\{service="images",node="node-a"\}/);
  });

  it('answers 404 elsewhere and 405 for other methods', async () => {
    const metrics = createMetrics({ service: 's', node: 'n' });
    server = await metrics.serve({ port: 0, host: '127.0.0.1' });
    expect((await get(server.port, '/')).status).toBe(404);
    expect((await get(server.port, '/metrics', 'POST')).status).toBe(405);
  });

  it('stops listening on close', async () => {
    const metrics = createMetrics({ service: 's', node: 'n' });
    const s = await metrics.serve({ port: 0 });
    await s.close();
    await expect(get(s.port, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('reports a port already in use', async () => {
    const metrics = createMetrics({ service: 's', node: 'n' });
    server = await metrics.serve({ port: 0 });
    await expect(metrics.serve({ port: server.port })).rejects.toThrow(
      new RegExp(`metrics endpoint could not listen on 127.0.0.1:${server.port}: .*EADDRINUSE`),
    );
  });

  it('returns the same metric for the same name and refuses another kind', () => {
    const metrics = createMetrics({ service: 's', node: 'n' });
    const a = metrics.counter('berth_things_total', 'Things');
    expect(metrics.counter('berth_things_total', 'Things')).toBe(a);
    expect(() => metrics.gauge('berth_things_total', 'Things')).toThrow(
      /metric "berth_things_total" is already registered as a Counter, not a Gauge/,
    );
  });

  it('keeps registries of two services apart', () => {
    const a = createMetrics({ service: 'a', node: 'n' });
    const b = createMetrics({ service: 'b', node: 'n' });
    a.counter('berth_x_total', 'x').inc();
    expect(b.registry.getSingleMetric('berth_x_total')).toBeUndefined();
  });
});

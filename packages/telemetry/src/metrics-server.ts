// The opt-in HTTP endpoint Prometheus scrapes: GET /metrics, nothing else.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ServeMetricsOptions {
  /** 0 lets the kernel pick a free port (read it back from the result). */
  port: number;
  /** Default 127.0.0.1: metrics are not published beyond the host unless asked. */
  host?: string;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export function serveMetrics(registry: Registry, opts: ServeMetricsOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    void answer(registry, req, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`metrics endpoint could not listen on ${host}:${opts.port}: ${err.message}`, { cause: err })),
    );
    server.listen(opts.port, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeIdleConnections();
          }),
      });
    });
  });
}

async function answer(registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: only /metrics is served\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`method ${req.method} not allowed\n`);
    return;
  }
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(err as Error).message}\n`);
  }
}

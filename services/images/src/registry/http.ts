// One HTTP exchange with the timeouts a registry client needs: a deadline for
// connecting and receiving the response headers, and an idle timeout while the
// body flows, so a hanging registry fails with a clear error instead of never.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { RegistryError, certificateError, networkError, redactUrl } from './errors.js';
import { tlsByUrlHost, type RegistryHostOptions } from './hosts.js';

export interface Timeouts {
  /** From sending the request until the response headers arrive (covers connect). */
  headersMs: number;
  /** Longest silence while sending or receiving a body. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 30_000, idleMs: 60_000 };

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A buffer, or a stream (then set content-length in headers). */
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  body: IncomingMessage;
}

/**
 * Keep-alive agents: one for plain HTTP, one for HTTPS with the system's
 * CAs, and one per registry that has TLS settings of its own (extra CAs, or
 * no verification), so those settings never apply to another host (such as
 * a CDN a blob request is redirected to).
 */
export class Agents {
  private readonly plain: http.Agent;
  private readonly tls: https.Agent;
  private readonly tlsByHost = new Map<string, https.Agent>();
  constructor(opts: { hosts?: Record<string, RegistryHostOptions>; maxSockets?: number } = {}) {
    const common = { keepAlive: true, maxSockets: opts.maxSockets ?? 16 };
    this.plain = new http.Agent(common);
    this.tls = new https.Agent(common);
    for (const [host, settings] of tlsByUrlHost(opts.hosts)) {
      this.tlsByHost.set(
        host,
        new https.Agent({
          ...common,
          // Node's `ca` replaces the system's CAs; a registry's own CA is trusted in addition to them.
          ...(settings.ca !== undefined ? { ca: [...rootCertificates, ...[settings.ca].flat()] } : {}),
          ...(settings.skipTlsVerify ? { rejectUnauthorized: false } : {}),
        }),
      );
    }
  }
  /** The agent for a request to `url`. */
  for(url: URL): http.Agent {
    if (url.protocol !== 'https:') return this.plain;
    return this.tlsByHost.get(url.host) ?? this.tls;
  }
  destroy(): void {
    this.plain.destroy();
    this.tls.destroy();
    for (const agent of this.tlsByHost.values()) agent.destroy();
  }
}

export function sendHttp(agents: Agents, req: HttpRequest, timeouts: Timeouts): Promise<HttpResponse> {
  const where = `${req.method} ${redactUrl(req.url)}`;
  return new Promise<HttpResponse>((resolve, reject) => {
    req.signal?.throwIfAborted();
    const isHttps = req.url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const cr = mod.request(req.url, {
      method: req.method,
      headers: req.headers,
      agent: agents.for(req.url),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    let response: IncomingMessage | undefined;
    let headersTimer: NodeJS.Timeout | undefined;
    const startHeadersTimer = () => {
      if (response) return; // answered before the upload finished
      headersTimer = setTimeout(() => {
        cr.destroy(
          new RegistryError(
            'DEADLINE_EXCEEDED',
            `${where}: no response within ${timeouts.headersMs} ms (registry not answering)`,
            true,
          ),
        );
      }, timeouts.headersMs);
    };
    // With a body, the deadline runs from the end of the upload (a big blob takes
    // a while to send); while sending, the idle timeout guards against a stall.
    if (req.body === undefined || Buffer.isBuffer(req.body)) startHeadersTimer();
    else cr.on('finish', startHeadersTimer);
    cr.setTimeout(timeouts.idleMs, () => {
      const err = new RegistryError(
        'DEADLINE_EXCEEDED',
        `${where}: connection idle for ${timeouts.idleMs} ms${response ? ' while receiving the body' : ''}`,
        true,
      );
      if (response) response.destroy(err);
      cr.destroy(err);
    });
    cr.on('error', (err) => {
      clearTimeout(headersTimer);
      if (response) return;
      if (req.signal?.aborted) reject(req.signal.reason);
      else reject(err instanceof RegistryError ? err : (certificateError(where, req.url.host, err) ?? networkError(where, err)));
    });
    cr.on('response', (res) => {
      clearTimeout(headersTimer);
      response = res;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res });
    });
    if (req.body === undefined) cr.end();
    else if (Buffer.isBuffer(req.body)) cr.end(req.body);
    else {
      const body = req.body;
      body.on('error', (err) => cr.destroy(err));
      // A request that ends early (401, redirect, error) must not leave the source (a file) open.
      cr.on('close', () => {
        if (!body.readableEnded) body.destroy();
      });
      body.pipe(cr);
    }
  });
}

/** Reads a whole response body, refusing more than `limit` bytes (checked before and while reading). */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new RegistryError(
      'RESOURCE_EXHAUSTED',
      `${what} is ${declared} bytes, over the limit of ${limit} bytes`,
      false,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > limit) {
        res.body.destroy();
        throw new RegistryError('RESOURCE_EXHAUSTED', `${what} is over the limit of ${limit} bytes`, false);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw networkError(`reading ${what}`, err);
  }
  return Buffer.concat(chunks);
}

/** Discards a body we do not need, so the connection can be reused. */
export function drain(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => undefined);
}

/** A short, readable summary of a registry error body ({"errors":[{code,message}]} or text). */
export async function errorSummary(res: HttpResponse): Promise<string> {
  let body: Buffer;
  try {
    body = await readBody(res, 8192, 'error body');
  } catch {
    return '';
  }
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    }
  } catch {
    // not JSON: fall through to text
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export { Readable };

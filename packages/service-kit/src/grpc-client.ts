import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { readFileSync } from 'node:fs';
import { tracingClientInterceptor } from './grpc-tracing.js';

type ClientCtor<C> = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C;

/** "unix:/run/berth/x.sock" or "/run/berth/x.sock" or "host:port". */
export function normaliseAddress(address: string): string {
  return address.startsWith('/') ? `unix:${address}` : address;
}

export interface ClientTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A generated client for a berth service, with trace propagation. */
export function createClient<C>(Ctor: ClientCtor<C>, address: string, tls?: ClientTls): C {
  const creds = tls
    ? grpc.credentials.createSsl(
        readFileSync(tls.caFile),
        readFileSync(tls.keyFile),
        readFileSync(tls.certFile),
      )
    : grpc.credentials.createInsecure();
  return new Ctor(normaliseAddress(address), creds, {
    interceptors: [tracingClientInterceptor],
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // Peers start together and restart alone: grpc-js's default backoff (1 s
    // growing to 120 s) would fail calls long after the peer is back.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.min_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
  });
}

const HealthClient = grpc.makeClientConstructor(healthService as grpc.ServiceDefinition, 'grpc.health.v1.Health');

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

/** One grpc.health.v1 Check against an address; never throws. */
export function checkHealth(address: string, service = '', timeoutMs = 2000): Promise<HealthStatus> {
  const client = new HealthClient(normaliseAddress(address), grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string | number }) => void): void;
  };
  return new Promise((resolve) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) return resolve(err.code === grpc.status.NOT_FOUND ? 'SERVICE_UNKNOWN' : 'UNREACHABLE');
      const s = res?.status;
      resolve(s === 1 || s === 'SERVING' ? 'SERVING' : s === 2 || s === 'NOT_SERVING' ? 'NOT_SERVING' : 'UNKNOWN');
    });
  });
}

/** Polls health until SERVING or the deadline. */
export async function waitForHealth(address: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await checkHealth(address, '', 1000)) === 'SERVING') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

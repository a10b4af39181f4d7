import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { loadPackageDefinition } from '@berth/api/descriptors';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { withServerTracing } from './grpc-tracing.js';

export interface ServiceRegistration {
  definition: grpc.ServiceDefinition;
  handlers: grpc.UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  socket: string;
  socketMode: number;
  /** host:port for an extra TCP listener; mTLS required. */
  tcp?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  services: ServiceRegistration[];
}

export interface RunningGrpcServer {
  server: grpc.Server;
  health: HealthImplementation;
  tcpPort?: number;
  /** Stop accepting, let in-flight calls finish for up to drainMs, then cut them. */
  shutdown(drainMs: number): Promise<void>;
}

/** True if something is accepting connections on the unix socket. */
export function socketIsLive(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    setTimeout(() => done(false), timeoutMs).unref();
  });
}

function tcpCredentials(tls: GrpcServerOptions['tls']): grpc.ServerCredentials {
  if (!tls?.caFile || !tls.certFile || !tls.keyFile) {
    throw new Error('grpc.tcp needs mTLS: set grpc.tls.caFile, grpc.tls.certFile and grpc.tls.keyFile');
  }
  return grpc.ServerCredentials.createSsl(
    readFileSync(tls.caFile),
    [{ private_key: readFileSync(tls.keyFile), cert_chain: readFileSync(tls.certFile) }],
    true,
  );
}

const bind = (server: grpc.Server, address: string, creds: grpc.ServerCredentials) =>
  new Promise<number>((resolve, reject) =>
    server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))),
  );

/**
 * Starts a gRPC server with the service's APIs, grpc.health.v1 and server
 * reflection, on a unix socket (a stale socket from a crash is replaced; a
 * live one means another instance runs and is an error) and optionally TCP+mTLS.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  new ReflectionService(loadPackageDefinition()).addToServer(server);
  for (const { definition, handlers } of opts.services) {
    server.addService(definition, withServerTracing(definition, handlers));
  }

  mkdirSync(dirname(opts.socket), { recursive: true, mode: 0o755 });
  if (existsSync(opts.socket)) {
    if (await socketIsLive(opts.socket)) throw new Error(`another process is serving on ${opts.socket}`);
    rmSync(opts.socket, { force: true });
  }
  await bind(server, `unix:${opts.socket}`, grpc.ServerCredentials.createInsecure());
  chmodSync(opts.socket, opts.socketMode);
  let tcpPort: number | undefined;
  if (opts.tcp) tcpPort = await bind(server, opts.tcp, tcpCredentials(opts.tls));

  for (const { definition } of opts.services) {
    const first = Object.values(definition)[0];
    if (first) health.setStatus(first.path.split('/')[1]!, 'SERVING');
  }
  health.setStatus('', 'SERVING');

  return {
    server,
    health,
    ...(tcpPort !== undefined ? { tcpPort } : {}),
    shutdown: (drainMs) =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        const timer = setTimeout(() => server.forceShutdown(), drainMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          rmSync(opts.socket, { force: true });
          resolve();
        });
      }),
  };
}

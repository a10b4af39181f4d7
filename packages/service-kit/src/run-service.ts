import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createLogger, createMetrics, initTracing, type Logger } from '@berth/telemetry';
import { connectBus, type Bus } from '@berth/bus';
import { writeFileAtomic } from '@berth/store';
import type { z } from 'zod';
import type { DestinationStream } from 'pino';
import { loadConfig, servicePaths, type BaseConfig, type LoadConfigOptions } from './config.js';
import { startGrpcServer, type RunningGrpcServer, type ServiceRegistration } from './grpc-server.js';

export interface ServiceContext<C extends BaseConfig> {
  name: string;
  version: string;
  config: C;
  logger: Logger;
  bus: Bus;
  paths: ReturnType<typeof servicePaths>;
  metrics: ReturnType<typeof createMetrics>;
}

export interface ServiceSetup {
  services: ServiceRegistration[];
  /** Runs after the server stopped accepting and drained, before the bus closes. */
  close?(): Promise<void> | void;
}

export interface ServiceSpec<S extends z.ZodType<BaseConfig, z.ZodTypeDef, unknown>> {
  name: string;
  version: string;
  configSchema: S;
  setup(ctx: ServiceContext<z.infer<S>>): Promise<ServiceSetup>;
}

/** What a running service file under the runtime dir says about the process. */
export interface ServiceStateFile {
  service: string;
  pid: number;
  version: string;
  node: string;
  socket: string;
  startedAt: string;
}

export interface RunningService<C extends BaseConfig> {
  ctx: ServiceContext<C>;
  grpc: RunningGrpcServer;
  stop(): Promise<void>;
}

/** Version of the package whose module URL is given (reads its package.json). */
export function packageVersion(moduleUrl: string): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/**
 * Starts a service: config, logger, tracing, NATS, its gRPC APIs with health
 * and reflection, the state file; returns a handle whose stop() shuts down in
 * order (stop accepting, drain, service close, bus drain, tracing flush).
 */
export interface StartServiceOptions extends LoadConfigOptions {
  /** Where log lines go (default stdout); tests capture them here. */
  logDestination?: DestinationStream;
}

export async function startService<S extends z.ZodType<BaseConfig, z.ZodTypeDef, unknown>>(
  spec: ServiceSpec<S>,
  opts: StartServiceOptions = {},
): Promise<RunningService<z.infer<S>>> {
  const config = loadConfig(spec.name, spec.configSchema, opts) as z.infer<S>;
  const logger = createLogger({
    service: spec.name,
    node: config.node,
    level: config.log.level,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });
  const tracing = initTracing({ service: `berth-${spec.name}`, node: config.node, version: spec.version });
  const paths = servicePaths(spec.name, config);
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  mkdirSync(config.runtimeDir, { recursive: true, mode: 0o755 });

  const metrics = createMetrics({ service: spec.name, node: config.node });
  const metricsServer =
    config.metrics.port !== undefined ? await metrics.serve({ port: config.metrics.port, host: config.metrics.host }) : undefined;

  const n = config.nats;
  const bus = await connectBus({
    servers: n.url.split(','),
    service: spec.name,
    node: config.node,
    name: `berth-${spec.name}@${config.node}`,
    logger,
    ...(n.token ? { token: n.token } : {}),
    ...(n.user ? { user: n.user } : {}),
    ...(n.pass ? { pass: n.pass } : {}),
    ...(n.credsFile ? { credsFile: n.credsFile } : {}),
    ...(n.nkeySeedFile ? { nkeySeedFile: n.nkeySeedFile } : {}),
    ...(n.tls ? { tls: n.tls } : {}),
  });

  const ctx: ServiceContext<z.infer<S>> = { name: spec.name, version: spec.version, config, logger, bus, paths, metrics };
  let setup: ServiceSetup | undefined;
  let grpc: RunningGrpcServer;
  try {
    setup = await spec.setup(ctx);
    grpc = await startGrpcServer({
      socket: paths.socket,
      socketMode: config.grpc.socketMode,
      ...(config.grpc.tcp ? { tcp: config.grpc.tcp } : {}),
      ...(config.grpc.tls ? { tls: config.grpc.tls } : {}),
      services: setup.services,
    });
  } catch (err) {
    // A server that failed to start (socket taken, bad TLS files) must not leave
    // the service's own resources (stores, timers, subscriptions) open.
    await Promise.resolve(setup?.close?.()).catch((closeErr: unknown) => logger.warn({ err: closeErr }, 'closing after a failed start failed'));
    await bus.close().catch(() => undefined);
    await metricsServer?.close();
    throw err;
  }

  const ready = setup;
  const state: ServiceStateFile = {
    service: spec.name,
    pid: process.pid,
    version: spec.version,
    node: config.node,
    socket: paths.socket,
    startedAt: new Date().toISOString(),
  };
  writeFileAtomic(paths.stateFile, JSON.stringify(state) + '\n');
  logger.info({ socket: paths.socket, tcpPort: grpc.tcpPort, version: spec.version }, `${spec.name} service ready`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      await grpc.shutdown(config.grpc.drainTimeoutMs);
      await ready.close?.();
      await bus.close().catch((err: unknown) => logger.warn({ err }, 'closing NATS failed'));
      await metricsServer?.close();
      rmSync(paths.stateFile, { force: true });
      logger.info('stopped');
      await tracing.shutdown().catch(() => undefined);
    })());
  return { ctx, grpc, stop };
}

/**
 * The `main` of a service process: starts it, stops gracefully on SIGTERM or
 * SIGINT (a second signal exits at once), exits 1 with a clear message when
 * start-up fails (bad config, socket taken, NATS unreachable).
 */
export function runServiceMain<S extends z.ZodType<BaseConfig, z.ZodTypeDef, unknown>>(spec: ServiceSpec<S>): void {
  startService(spec).then(
    (running) => {
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        if (++signals > 1) process.exit(130);
        running.ctx.logger.info({ signal: sig }, 'signal received');
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            running.ctx.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
    (err: unknown) => {
      process.stderr.write(`berth-${spec.name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

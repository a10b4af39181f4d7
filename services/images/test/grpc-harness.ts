// The real images service in-process for gRPC tests: its own state root and
// runtime dir, a real nats-server, logs kept in memory (silent unless a test
// asks for a level), and generated clients on its unix socket. Tests talk to
// it only through gRPC (and NATS).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { images, NAMESPACE_METADATA_KEY } from '@berth/api';
import { connectBus, type Bus, type EventEnvelope } from '@berth/bus';
import { createClient, startService, type RunningService } from '@berth/service-kit';
import { createLogger } from '@berth/telemetry';
import { makeStateRoot, startNats, type StateRoot, type TestNats } from '@berth/testkit';
import { imagesServiceSpec, type ImagesConfig } from '../src/service.js';

export interface Clients {
  content: images.ContentClient;
  images: images.ImagesClient;
  transfer: images.TransferClient;
  leases: images.LeasesClient;
}

export interface ImagesHarness {
  state: StateRoot;
  nats: TestNats;
  service: RunningService<ImagesConfig>;
  socket: string;
  clients: Clients;
  /** The docker config.json the service reads credentials from. */
  dockerConfigPath: string;
  /** The service's log lines (JSON), at the level asked for. */
  logs: string[];
  /** A second NATS connection, as another service would have. */
  connectObserver(): Promise<Bus>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra command-line flags for the service. */
  argv?: string[];
  /** Contents of the docker config.json (default: no credentials). */
  dockerConfig?: unknown;
  /** Contents of a JSON config file passed with --config (flags still override it). */
  config?: unknown;
  /** Log level (default silent); lines are kept in ImagesHarness.logs. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export async function startImagesService(opts: HarnessOptions = {}): Promise<ImagesHarness> {
  const state = await makeStateRoot('berth-images-grpc');
  const nats = await startNats({ jetstream: true });
  const configDir = mkdtempSync(join(tmpdir(), 'berth-images-docker-config-'));
  const dockerConfigPath = join(configDir, 'config.json');
  writeFileSync(dockerConfigPath, JSON.stringify(opts.dockerConfig ?? { auths: {} }), { mode: 0o600 });
  const configFile = join(configDir, 'images.json');
  if (opts.config !== undefined) writeFileSync(configFile, JSON.stringify(opts.config));
  const logs: string[] = [];
  let service: RunningService<ImagesConfig>;
  try {
    service = await startService(imagesServiceSpec, {
      argv: [
        '--root', state.root,
        '--runtime-dir', state.runtimeDir,
        '--node', 'grpc-test',
        '--nats.url', nats.url,
        '--log.level', opts.logLevel ?? 'silent',
        '--images.docker-config-path', dockerConfigPath,
        ...(opts.config !== undefined ? ['--config', configFile] : []),
        ...(opts.argv ?? []),
      ],
      env: {},
      logDestination: { write: (line: string) => void logs.push(line) },
    });
  } catch (err) {
    await nats.stop();
    await state.cleanup();
    rmSync(configDir, { recursive: true, force: true });
    throw err;
  }
  const socket = service.ctx.paths.socket;
  const clients: Clients = {
    content: createClient(images.ContentClient, socket),
    images: createClient(images.ImagesClient, socket),
    transfer: createClient(images.TransferClient, socket),
    leases: createClient(images.LeasesClient, socket),
  };
  const observers: Bus[] = [];
  return {
    state,
    nats,
    service,
    socket,
    clients,
    dockerConfigPath,
    logs,
    connectObserver: async () => {
      const bus = await connectBus({
        servers: nats.url,
        service: 'observer',
        node: 'grpc-test',
        logger: createLogger({ service: 'observer', node: 'grpc-test', level: 'silent' }),
      });
      observers.push(bus);
      return bus;
    },
    stop: async () => {
      for (const c of Object.values(clients)) (c as grpc.Client).close();
      for (const b of observers) await b.close().catch(() => undefined);
      await service.stop();
      await nats.stop();
      await state.cleanup();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}

/** Call metadata naming a namespace. */
export function ns(namespace: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(NAMESPACE_METADATA_KEY, namespace);
  return md;
}

/** A unary call as a promise. */
export function rpc<Res>(start: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** Every message of a server stream; rejects with the stream's error. */
export function collect<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

/** The gRPC error a call fails with; fails the test when it succeeds. */
export async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Events of one type seen by an observer (subscribed before the action). */
export interface EventLog {
  events: EventEnvelope<Record<string, unknown>>[];
  /** Waits until an event matching `pred` has arrived (or fails after timeoutMs). */
  waitFor(pred: (e: EventEnvelope<Record<string, unknown>>) => boolean, timeoutMs?: number): Promise<EventEnvelope<Record<string, unknown>>>;
  stop(): void;
}

export async function recordEvents(bus: Bus, pattern: string): Promise<EventLog> {
  const events: EventEnvelope<Record<string, unknown>>[] = [];
  const waiters: { pred: (e: EventEnvelope<Record<string, unknown>>) => boolean; resolve: (e: EventEnvelope<Record<string, unknown>>) => void }[] = [];
  const unsubscribe = bus.subscribe<Record<string, unknown>>(pattern, (e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  await bus.flush();
  return {
    events,
    stop: unsubscribe,
    waitFor: (pred, timeoutMs = 10_000) => {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no matching event on ${pattern} within ${timeoutMs} ms; saw ${events.map((e) => e.type).join(', ') || 'none'}`));
        }, timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

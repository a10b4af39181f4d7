// One gRPC test suite's world: its own NATS, state root and runtime dir, the
// snapshots service started in-process from its real spec, generated gRPC
// clients on its socket, and every snapshots.* event seen on NATS.
import * as grpc from '@grpc/grpc-js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NAMESPACE_METADATA_KEY, snapshots } from '@berth/api';
import { connectBus, type Bus, type EventEnvelope } from '@berth/bus';
import { createClient, startService, type RunningService } from '@berth/service-kit';
import { createLogger } from '@berth/telemetry';
import { makeStateRoot, startNats, type StateRoot, type TestNats } from '@berth/testkit';
import { snapshotsServiceSpec } from '../../src/service.js';
import type { SnapshotsConfig } from '../../src/config.js';

type UnaryMethod<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** A promise-returning version of a generated unary method. */
function unaryOf<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>) {
  return (req: Req, namespace?: string) =>
    new Promise<Res>((resolve, reject) => {
      const md = new grpc.Metadata();
      if (namespace !== undefined) md.set(NAMESPACE_METADATA_KEY, namespace);
      method.call(client, req, md, {}, (err, res) => (err ? reject(err) : resolve(res)));
    });
}

export function snapshotsApi(client: snapshots.SnapshotsClient) {
  return {
    prepare: unaryOf(client, client.prepareSnapshot),
    view: unaryOf(client, client.viewSnapshot),
    mounts: unaryOf(client, client.getSnapshotMounts),
    commit: unaryOf(client, client.commitSnapshot),
    remove: unaryOf(client, client.removeSnapshot),
    stat: unaryOf(client, client.statSnapshot),
    update: unaryOf(client, client.updateSnapshot),
    list: unaryOf(client, client.listSnapshots),
    usage: unaryOf(client, client.getSnapshotUsage),
    cleanup: unaryOf(client, client.cleanupSnapshots),
    info: unaryOf(client, client.getSnapshotterInfo),
  };
}

export function layersApi(client: snapshots.LayersClient) {
  return {
    apply: unaryOf(client, client.applyLayer),
    diff: unaryOf(client, client.diffSnapshot),
    /** The raw UnpackImage stream. */
    unpackStream: (req: snapshots.UnpackImageRequest) => client.unpackImage(req),
    /** Every message of an UnpackImage stream, or the stream's error. */
    unpack: (req: snapshots.UnpackImageRequest) =>
      new Promise<snapshots.UnpackImageResponse[]>((resolve, reject) => {
        const out: snapshots.UnpackImageResponse[] = [];
        const call = client.unpackImage(req);
        call.on('data', (m: snapshots.UnpackImageResponse) => out.push(m));
        call.on('error', reject);
        call.on('end', () => resolve(out));
      }),
  };
}

/** The gRPC error a promise rejects with (fails the test when it resolves). */
export async function rpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const result = await p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (result.ok) throw new Error(`expected the call to fail, it answered ${JSON.stringify(result.value)}`);
  return result.err as grpc.ServiceError;
}

export interface ServiceHandle {
  running: RunningService<SnapshotsConfig>;
  socket: string;
  snapshots: ReturnType<typeof snapshotsApi>;
  layers: ReturnType<typeof layersApi>;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts the snapshots service in-process on its own state root and runtime dir. */
export async function startSnapshots(opts: { state: StateRoot; natsUrl: string; extraArgs?: string[] }): Promise<ServiceHandle> {
  const logs: string[] = [];
  const running = await startService(snapshotsServiceSpec, {
    argv: ['--root', opts.state.root, '--runtime-dir', opts.state.runtimeDir, '--nats.url', opts.natsUrl, '--node', 'test-node', ...(opts.extraArgs ?? [])],
    env: {},
    logDestination: { write: (line: string) => void logs.push(line) },
  });
  const socket = running.ctx.paths.socket;
  const sClient = createClient(snapshots.SnapshotsClient, socket);
  const lClient = createClient(snapshots.LayersClient, socket);
  return {
    running,
    socket,
    snapshots: snapshotsApi(sClient),
    layers: layersApi(lClient),
    logs,
    stop: async () => {
      sClient.close();
      lClient.close();
      await running.stop();
    },
  };
}

export interface Suite {
  state: StateRoot;
  nats: TestNats;
  /** Events seen on berth.*.events.snapshots.> */
  events: EventEnvelope<Record<string, unknown>>[];
  observer: Bus;
  /** A directory for mount points, inside the state root (cleanup unmounts it). */
  mountDir: string;
  stop(): Promise<void>;
}

export async function startSuite(prefix: string): Promise<Suite> {
  const state = await makeStateRoot(prefix);
  let nats: TestNats | undefined;
  try {
    nats = await startNats();
    const observer = await connectBus({
      servers: nats.url,
      service: 'observer',
      node: 'test-node',
      logger: createLogger({ service: 'observer', node: 'test-node', level: 'silent' }),
    });
    const events: EventEnvelope<Record<string, unknown>>[] = [];
    observer.subscribe<Record<string, unknown>>('berth.*.events.snapshots.>', (env) => void events.push(env));
    await observer.flush();
    const mountDir = join(state.root, 'test-mounts');
    mkdirSync(mountDir);
    const n = nats;
    return {
      state,
      nats: n,
      events,
      observer,
      mountDir,
      stop: async () => {
        await observer.close().catch(() => undefined);
        await n.stop();
        await state.cleanup();
      },
    };
  } catch (err) {
    await nats?.stop();
    await state.cleanup();
    throw err;
  }
}

/** Waits until `check` returns a value (events travel asynchronously); fails after a generous deadline. */
export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A command's connection to the berth services: one gRPC client per API on
// <runtimeDir>/<service>.sock, every call carrying the namespace and the
// command's traceparent, failures turned into errors a user can act on.
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { images, NAMESPACE_METADATA_KEY, networking, snapshots, tasks } from '@berth/api';
import { runtimeDirOf, socketOf, type GlobalOptions, type ServiceName } from '../stack-options.js';
import { callError, stackNotRunning } from './errors.js';
import { commandTraceparent, traceIdOf } from './trace.js';

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;
type UnaryFn<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: Callback<Res>,
) => grpc.ClientUnaryCall;
type ClientCtor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C;

/** Names of a client's unary methods. */
// `any` here only matches a method's shape; requests and responses stay typed through infer.
type AnyUnary = UnaryFn<any, any>;
export type UnaryMethod<C> = { [K in keyof C]: C[K] extends AnyUnary ? K : never }[keyof C] & string;
type RequestOf<F> = F extends UnaryFn<infer Req, any> ? Req : never;
type ResponseOf<F> = F extends UnaryFn<any, infer Res> ? Res : never;

export class Session {
  readonly namespace: string;
  readonly runtimeDir: string;
  readonly traceparent: string;
  private readonly clients = new Map<ClientCtor<unknown>, grpc.Client>();
  private readonly owners = new WeakMap<object, ServiceName>();

  constructor(g: GlobalOptions) {
    this.namespace = g.namespace;
    this.runtimeDir = runtimeDirOf(g);
    this.traceparent = commandTraceparent();
    if (g.debug) process.stderr.write(`berth: trace ${traceIdOf(this.traceparent)}\n`);
  }

  get images(): images.ImagesClient {
    return this.client('images', images.ImagesClient);
  }
  get transfer(): images.TransferClient {
    return this.client('images', images.TransferClient);
  }
  get content(): images.ContentClient {
    return this.client('images', images.ContentClient);
  }
  get snapshots(): snapshots.SnapshotsClient {
    return this.client('snapshots', snapshots.SnapshotsClient);
  }
  get containers(): tasks.ContainersClient {
    return this.client('tasks', tasks.ContainersClient);
  }
  get tasks(): tasks.TasksClient {
    return this.client('tasks', tasks.TasksClient);
  }
  get nodes(): tasks.NodesClient {
    return this.client('tasks', tasks.NodesClient);
  }
  get networks(): networking.NetworksClient {
    return this.client('networking', networking.NetworksClient);
  }

  /** The client of one API; fails at once, saying how to start berth, when the service's socket is absent. */
  private client<C>(service: ServiceName, Ctor: ClientCtor<C>): C {
    const existing = this.clients.get(Ctor as ClientCtor<unknown>);
    if (existing) return existing as C;
    const socket = socketOf(this.runtimeDir, service);
    if (!existsSync(socket)) throw stackNotRunning(service, socket, 'no socket there');
    const client = new Ctor(`unix:${socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    this.clients.set(Ctor as ClientCtor<unknown>, client as grpc.Client);
    this.owners.set(client as object, service);
    return client;
  }

  /** Metadata for one call: the namespace and the command's trace. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set(NAMESPACE_METADATA_KEY, this.namespace);
    md.set('traceparent', this.traceparent);
    return md;
  }

  /** A unary call as a promise; a failure becomes a CallError (or StackNotRunningError). */
  unary<C extends object, M extends UnaryMethod<C>>(client: C, method: M, request: RequestOf<C[M]>): Promise<ResponseOf<C[M]>> {
    const fn = client[method] as unknown as UnaryFn<RequestOf<C[M]>, ResponseOf<C[M]>>;
    return new Promise((resolve, reject) => {
      fn.call(client, request, this.metadata(), {}, (err, res) => {
        if (err) reject(this.translate(client, method, err));
        else resolve(res);
      });
    });
  }

  /** Messages of a server stream; a failure becomes a CallError. */
  async *messages<T>(client: object, method: string, stream: AsyncIterable<unknown>): AsyncGenerator<T> {
    try {
      for await (const msg of stream) yield msg as T;
    } catch (err) {
      throw this.translate(client, method, err);
    }
  }

  /** The user-facing error of a failed call on client. */
  translate(client: object, method: string, err: unknown): Error {
    const service = this.owners.get(client) ?? 'berth';
    return callError(err, service, socketOf(this.runtimeDir, service as ServiceName), method);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** Runs fn with a session that is closed afterwards, so the process can exit. */
export async function withSession<T>(g: GlobalOptions, fn: (s: Session) => Promise<T>): Promise<T> {
  const session = new Session(g);
  try {
    return await fn(session);
  } finally {
    session.close();
  }
}

// A command's connection to the berth services: one gRPC client per API on
// <runtimeDir>/<component>.sock, the clients of one socket sharing one
// channel (a second channel to the same service would start its own name
// resolution and load balancer before its first call: 3-5 ms of CPU a `run`),
// every call carrying the namespace and the command's traceparent, failures
// turned into errors a user can act on.
//
// Commands name the API they call by its generated client class, imported
// from the namespace's subpath (`@berth/api/tasks`, ...), so a command loads
// only the namespaces it uses.
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY } from '@berth/api/metadata';
import { runtimeDirOf, socketOf, type GlobalOptions, type ServiceName } from '../stack-options.js';
import type { CliIo } from '../stdio/io.js';
import { callError, stackNotRunning } from './errors.js';
import { commandTraceparent, traceIdOf } from './trace.js';

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;
type UnaryFn<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: Callback<Res>,
) => grpc.ClientUnaryCall;

/** A generated client class, e.g. ContainersClient from @berth/api/tasks. */
export interface ApiClient<C> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>): C;
  /** Fully qualified service name, e.g. "berth.tasks.v1.Containers". */
  serviceName: string;
}

/** Names of a client's unary methods. */
// `any` here only matches a method's shape; requests and responses stay typed through infer.
type AnyUnary = UnaryFn<any, any>;
export type UnaryMethod<C> = { [K in keyof C]: C[K] extends AnyUnary ? K : never }[keyof C] & string;
type RequestOf<F> = F extends UnaryFn<infer Req, any> ? Req : never;
type ResponseOf<F> = F extends UnaryFn<any, infer Res> ? Res : never;

const COMPONENTS: readonly ServiceName[] = ['images', 'snapshots', 'tasks', 'networking', 'agent'];

const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

/** The component serving an API: "tasks" for "berth.tasks.v1.Containers". */
export function componentOf(serviceName: string): ServiceName {
  const component = /^berth\.([a-z]+)\.v\d+\./.exec(serviceName)?.[1];
  const known = COMPONENTS.find((c) => c === component);
  if (!known) throw new Error(`cannot tell which berth service serves ${serviceName}`);
  return known;
}

/** Channels kept open from one command to the next, by socket (the CLI host's: see keepChannels). */
let keptChannels: Map<string, grpc.Channel> | undefined;

/**
 * Keeps each service's channel open across the commands of this process, for
 * a process that runs many (the CLI host): connecting one costs ≈ 3 ms of a
 * command, reusing it ≈ 0.
 */
export function keepChannels(): void {
  keptChannels ??= new Map();
}

/** The kept channel to socket; a new one in place of one that shut down or failed to connect (the service restarted). */
function keptChannel(kept: Map<string, grpc.Channel>, socket: string): grpc.Channel {
  const channel = kept.get(socket);
  const state = channel?.getConnectivityState(false);
  if (channel && state !== grpc.connectivityState.SHUTDOWN && state !== grpc.connectivityState.TRANSIENT_FAILURE) return channel;
  channel?.close();
  const fresh = new grpc.Channel(`unix:${socket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  kept.set(socket, fresh);
  return fresh;
}

export class Session {
  readonly namespace: string;
  readonly runtimeDir: string;
  readonly traceparent: string;
  /** The caller's stdio and environment. */
  readonly io: CliIo;
  private readonly clients = new Map<ApiClient<unknown>, grpc.Client>();
  private readonly channels = new Map<string, grpc.Channel>();
  private readonly owners = new WeakMap<object, ServiceName>();
  /** Calls not yet ended, cancelled when the caller is gone (see abortCalls). */
  private readonly calls = new Set<grpc.InterceptingCall>();

  constructor(g: GlobalOptions) {
    this.namespace = g.namespace;
    this.runtimeDir = runtimeDirOf(g);
    this.io = g.io;
    g.io.abortSignal?.addEventListener('abort', this.abortCalls, { once: true });
    this.traceparent = commandTraceparent(g.io.env);
    if (g.debug) g.io.stderr.write(`berth: trace ${traceIdOf(this.traceparent)}\n`);
  }

  /**
   * The client of one API, created on first use; fails at once, saying how
   * to start berth, when its service's socket is absent.
   */
  api<C>(Ctor: ApiClient<C>): C {
    const existing = this.clients.get(Ctor as ApiClient<unknown>);
    if (existing) return existing as C;
    const service = componentOf(Ctor.serviceName);
    const socket = socketOf(this.runtimeDir, service);
    if (!existsSync(socket)) throw stackNotRunning(service, socket, 'no socket there');
    let channel = this.channels.get(socket);
    if (!channel) {
      channel = keptChannels ? keptChannel(keptChannels, socket) : new grpc.Channel(`unix:${socket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.channels.set(socket, channel);
    }
    const client = new Ctor(`unix:${socket}`, grpc.credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      channelOverride: channel,
      // calls are tracked only where the caller can go away first (the CLI host's); the berth process's end with it
      ...(this.io.abortSignal ? { interceptors: [this.track] } : {}),
    });
    this.clients.set(Ctor as ApiClient<unknown>, client as grpc.Client);
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

  /** Records a call until its status arrives. */
  private readonly track: grpc.Interceptor = (options, nextCall) => {
    const call: grpc.InterceptingCall = new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, _listener, next) => {
        this.calls.add(call);
        next(metadata, {
          onReceiveStatus: (status, nextStatus) => {
            this.calls.delete(call);
            nextStatus(status);
          },
        });
        // a command still running after its caller left (a loop such as `stats`) makes no new call
        if (this.io.abortSignal?.aborted) this.abortCalls();
      },
    });
    return call;
  };

  /** The caller hung up: every call still running ends (CANCELLED), and with it the command. */
  private readonly abortCalls = (): void => {
    for (const call of this.calls) call.cancelWithStatus(grpc.status.CANCELLED, 'the caller hung up');
    this.calls.clear();
  };

  readonly close = (): void => {
    this.io.abortSignal?.removeEventListener('abort', this.abortCalls);
    // The channels, not the clients: a client's close() closes the channel it was given.
    for (const [socket, channel] of this.channels) if (keptChannels?.get(socket) !== channel) channel.close();
    this.channels.clear();
    this.clients.clear();
  };
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

// The networking service as it runs in production, for the gRPC suites: a
// throwaway nats-server, the node agent (its service spec, started like its
// main does) and the networking service, each with its own state root and
// runtime dir, the networking service calling the agent over its unix socket.
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { agent, NAMESPACE_METADATA_KEY, networking } from '@berth/api';
import { connectBus, type Bus, type EventEnvelope } from '@berth/bus';
import { agentSpec } from '@berth/agent-service';
import { createClient, startService, type RunningService } from '@berth/service-kit';
import { createLogger } from '@berth/telemetry';
import { startNats, type TestNats } from '@berth/testkit';
import { networkingServiceSpec, type NetworkingConfig } from '../src/index.js';

export type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** One unary call; rejects with the grpc ServiceError (code, details, metadata). */
export function call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, namespace?: string): Promise<Res> {
  const md = new grpc.Metadata();
  if (namespace !== undefined) md.set(NAMESPACE_METADATA_KEY, namespace);
  return new Promise((resolve, reject) => {
    method(req, md, { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The ServiceError a call fails with (the test fails if it succeeds). */
export async function callError<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, namespace?: string): Promise<grpc.ServiceError> {
  try {
    await call(method, req, namespace);
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error(`expected the call to fail: ${JSON.stringify(req)}`);
}

export interface HarnessOptions {
  /** Networking settings beside node, root, runtimeDir, nats and peers (defaultNetwork, dns, ...). */
  networking: Record<string, unknown>;
  /** The agent's netns prefix: the suite's own, so that no berth on this host takes its namespaces for its own (nor the reverse). */
  netnsPrefix: string;
}

export interface Harness {
  nats: TestNats;
  agentAddress: string;
  networkingAddress: string;
  /** The networking service's state directory. */
  networkingState: string;
  /** The agent's state directory (its CNI result cache is cni/results). */
  agentState: string;
  service: RunningService<NetworkingConfig>;
  networks: networking.NetworksClient;
  attachments: networking.AttachmentsClient;
  dns: networking.DnsClient;
  netns: agent.NetnsClient;
  cni: agent.CniClient;
  /** Every networks.* event seen on NATS so far. */
  events: EventEnvelope[];
  /** Resolves with the first event (seen or to come) that matches. */
  waitForEvent(match: (e: EventEnvelope) => boolean, what: string, timeoutMs?: number): Promise<EventEnvelope>;
  stop(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'bng-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const nats = await startNats();
    cleanups.push(() => nats.stop());

    const agentRun = join(dir, 'ar');
    const agentConfig = join(dir, 'agent.json');
    writeFileSync(
      agentConfig,
      JSON.stringify({
        node: 'gnode',
        root: join(dir, 'agent-root'),
        runtimeDir: agentRun,
        nats: { url: nats.url },
        netns: { prefix: opts.netnsPrefix },
        log: { level: 'info' },
      }),
    );
    const agentService = await startService(agentSpec, {
      argv: [],
      env: { BERTH_CONFIG: agentConfig },
      logDestination: createWriteStream(join(dir, 'agent.log')),
    });
    cleanups.push(() => agentService.stop());
    const agentAddress = `unix:${join(agentRun, 'agent.sock')}`;

    const netRoot = join(dir, 'net-root');
    const netRun = join(dir, 'nr');
    const configFile = join(dir, 'networking.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...opts.networking,
        node: 'gnode',
        root: netRoot,
        runtimeDir: netRun,
        nats: { url: nats.url },
        peers: { agent: agentAddress },
        log: { level: 'info' },
      }),
    );
    const service = await startService(networkingServiceSpec, {
      argv: [],
      env: { BERTH_CONFIG: configFile },
      logDestination: createWriteStream(join(dir, 'networking.log')),
    });
    cleanups.push(() => service.stop());
    const networkingAddress = `unix:${join(netRun, 'networking.sock')}`;

    const clients = {
      networks: createClient(networking.NetworksClient, networkingAddress),
      attachments: createClient(networking.AttachmentsClient, networkingAddress),
      dns: createClient(networking.DnsClient, networkingAddress),
      netns: createClient(agent.NetnsClient, agentAddress),
      cni: createClient(agent.CniClient, agentAddress),
    };
    cleanups.push(() => Object.values(clients).forEach((c) => c.close()));

    const listener: Bus = await connectBus({
      servers: nats.url,
      service: 'nettest',
      node: 'gnode',
      jetstream: false,
      logger: createLogger({ service: 'nettest', node: 'gnode', level: 'silent' }),
    });
    cleanups.push(() => listener.close());
    const events: EventEnvelope[] = [];
    const waiters = new Set<() => void>();
    listener.subscribe('berth.*.events.networks.>', (env) => {
      events.push(env);
      waiters.forEach((w) => w());
    });
    await listener.flush();

    const waitForEvent = (match: (e: EventEnvelope) => boolean, what: string, timeoutMs = 10_000) =>
      new Promise<EventEnvelope>((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} event within ${timeoutMs} ms; seen: ${JSON.stringify(events.map((e) => [e.type, e.namespace, e.payload]))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });

    return {
      nats,
      agentAddress,
      networkingAddress,
      networkingState: join(netRoot, 'networking'),
      agentState: join(dir, 'agent-root', 'agent'),
      service,
      ...clients,
      events,
      waitForEvent,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

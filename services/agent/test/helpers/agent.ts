// The agent service under test: started in-process (startService) or as its
// own process (node dist/main.js), on a suite's state root, with its own
// runtime dir and NATS; driven only through generated gRPC clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { agent, types } from '@berth/api';
import { connectBus, type Bus } from '@berth/bus';
import { createLogger } from '@berth/telemetry';
import { createClient, startService, waitForHealth, type RunningService } from '@berth/service-kit';
import { agentSpec } from '../../src/service.js';
import type { AgentConfig } from '../../src/config.js';
import { eventually, type Suite } from './suite.js';

export interface AgentProcessOptions {
  suite: Suite;
  natsUrl: string;
  node: string;
  heartbeatIntervalMs?: number;
  extraArgs?: string[];
}

/** The agent's flags: state root = the suite's root, so <root>/agent is the suite's stateRoot. */
export function agentArgs(o: AgentProcessOptions): string[] {
  if (!o.suite.stateRoot.endsWith('/agent')) throw new Error('create the suite with { stateDir: "agent" } for agent service tests');
  return [
    '--root', o.suite.root,
    '--runtime-dir', join(o.suite.root, 'run'),
    '--nats.url', o.natsUrl,
    '--node', o.node,
    '--heartbeat-interval-ms', String(o.heartbeatIntervalMs ?? 5000),
    '--log.level', 'warn',
    ...(o.extraArgs ?? []),
  ];
}

export function agentSocket(suite: Suite): string {
  return join(suite.root, 'run', 'agent.sock');
}

/** Log lines of an in-process agent, kept for failure messages. */
export class LogSink extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
}

export async function startAgentInProcess(o: AgentProcessOptions): Promise<{ service: RunningService<AgentConfig>; logs: LogSink }> {
  mkdirSync(join(o.suite.root, 'run'), { recursive: true });
  const logs = new LogSink();
  const service = await startService(agentSpec, { argv: agentArgs(o), env: {}, logDestination: logs });
  return { service, logs };
}

const MAIN = resolve(__dirname, '../../dist/main.js');

/** The agent as its own process (what SIGKILL tests kill); resolves once it serves. */
export async function spawnAgent(o: AgentProcessOptions): Promise<{ child: ChildProcess; output: () => string }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" in services/agent before the tests`);
  mkdirSync(join(o.suite.root, 'run'), { recursive: true });
  const child = spawn(process.execPath, [MAIN, ...agentArgs(o)], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const socket = agentSocket(o.suite);
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`the agent process exited (${child.exitCode}) before serving:\n${out}`);
    return (await waitForHealth(`unix:${socket}`, 500)) ? true : undefined;
  }, `the agent process to serve on ${socket}`, 60_000);
  return { child, output: () => out };
}

export interface Clients {
  agent: agent.AgentClient;
  runtime: agent.RuntimeClient;
  mounts: agent.MountsClient;
  close(): void;
}

export function clientsFor(suite: Suite): Clients {
  const address = `unix:${agentSocket(suite)}`;
  const c = {
    agent: createClient(agent.AgentClient, address),
    runtime: createClient(agent.RuntimeClient, address),
    mounts: createClient(agent.MountsClient, address),
  };
  return { ...c, close: () => Object.values(c).forEach((x) => x.close()) };
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/** A unary call as a promise: call((cb) => client.method(request, cb)). */
export function call<Res>(fn: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise<Res>((res, rej) => {
    fn((err, r) => (err ? rej(err) : res(r)));
  });
}

/** The gRPC error a call fails with (fails the test if it succeeds). */
export async function callError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e as grpc.ServiceError,
  );
  if (!outcome) throw new Error('expected the call to fail, but it succeeded');
  return outcome;
}

/** A second NATS connection, as another service would have; quiet unless something goes wrong. */
export function testBus(natsUrl: string, name: string): Promise<Bus> {
  const logger = createLogger({ service: 'agenttest', node: name, level: 'warn' });
  return connectBus({ servers: natsUrl, service: 'agenttest', node: name, name: `agent-test-${name}`, logger });
}

/** Overlay rootfs mounts over the suite's busybox template, as the snapshots service hands them out. */
export function overlayMounts(suite: Suite, id: string): types.Mount[] {
  return suite.overlayFor(id).map((m) => types.Mount.fromPartial({ type: m.type, source: m.source, options: m.options }));
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

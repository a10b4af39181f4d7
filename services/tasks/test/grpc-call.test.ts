// callUnary against a real gRPC server on a unix socket: a neighbour that
// comes up (again) a moment after the call is waited for; one that stays
// away is reported as unavailable, by name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { callUnary } from '../src/adapters/grpc-call.js';
import { TasksError } from '../src/errors.js';

const json = {
  requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
  responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const service: grpc.ServiceDefinition = {
  echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, originalName: 'echo', ...json },
};
const EchoClient = grpc.makeGenericClientConstructor(service, 'Echo');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'berth-grpc-call-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const address = `unix:${join(dir, 'peer.sock')}`;
  const client = new EchoClient(address, grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.min_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
  });
  cleanups.push(() => client.close());
  const echo = (client as unknown as Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>)['echo']!.bind(client);
  const serve = async () => {
    const server = new grpc.Server();
    server.addService(service, { echo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, call.request) });
    await new Promise<void>((res, rej) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    cleanups.push(() => new Promise<void>((res) => server.tryShutdown(() => res())));
  };
  return { address, echo, serve };
}

describe('callUnary', () => {
  it('waits for a neighbour that starts listening shortly after the call was made', async () => {
    const { address, echo, serve } = setup();
    const peer = { name: 'agent', address };
    const started = Date.now();
    setTimeout(() => void serve(), 400);
    const res = await callUnary(peer, echo as never, { hello: 'there' }, { timeoutMs: 5000 });
    expect(res).toEqual({ hello: 'there' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('reports a neighbour that does not come as unavailable, naming it and its address', async () => {
    const { address, echo } = setup();
    const started = Date.now();
    const err = await callUnary({ name: 'agent', address }, echo as never, {}, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TasksError);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect((err as Error).message).toContain(`the agent at ${address} is unavailable`);
    // it gave the neighbour its grace period, and not much more
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(4500);
  });
});

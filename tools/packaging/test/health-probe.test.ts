// The image health probe, run as the images run it (node berth-health.mjs
// SERVICE) against a real gRPC server with the standard health service.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTarget } from '../src/index.js';

const probe = fileURLToPath(new URL('../dist/health-probe.js', import.meta.url));
let dir: string;
let server: grpc.Server;
let health: HealthImplementation;

function runProbe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [probe, ...args], { env: { PATH: process.env.PATH, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-probe-'));
  server = new grpc.Server();
  health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${join(dir, 'images.sock')}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.tryShutdown(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('berth-health', () => {
  it('exits 0 when the service socket under BERTH_RUNTIME_DIR answers SERVING', async () => {
    health.setStatus('', 'SERVING');
    const res = await runProbe(['images'], { BERTH_RUNTIME_DIR: dir });
    expect(res).toMatchObject({ code: 0, stdout: 'berth-health: images SERVING\n' });
  });

  it('exits 1 when the service says NOT_SERVING (draining)', async () => {
    health.setStatus('', 'NOT_SERVING');
    const res = await runProbe(['images', '--socket', join(dir, 'images.sock')]);
    expect(res).toMatchObject({ code: 1, stderr: 'berth-health: images NOT_SERVING\n' });
    health.setStatus('', 'SERVING');
  });

  it('exits 1 naming the socket when nothing listens there', async () => {
    const res = await runProbe(['tasks'], { BERTH_RUNTIME_DIR: dir });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(join(dir, 'tasks.sock'));
  });

  it('exits 2 with the usage on bad arguments', async () => {
    for (const args of [[], ['a', 'b'], ['images', '--timeout-ms', 'soon']]) {
      const res = await runProbe(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/^berth-health: /);
    }
  });
});

describe('probeTarget', () => {
  it('follows the service kit: --socket, else BERTH_GRPC_SOCKET, else BERTH_RUNTIME_DIR/<service>.sock, else /run/berth', () => {
    expect(probeTarget(['agent'], {}).socket).toBe('/run/berth/agent.sock');
    expect(probeTarget(['agent'], { BERTH_RUNTIME_DIR: '/x' }).socket).toBe('/x/agent.sock');
    expect(probeTarget(['agent'], { BERTH_RUNTIME_DIR: '/x', BERTH_GRPC_SOCKET: '/y.sock' }).socket).toBe('/y.sock');
    expect(probeTarget(['agent', '--socket', '/z.sock'], { BERTH_GRPC_SOCKET: '/y.sock' }).socket).toBe('/z.sock');
    expect(probeTarget(['agent', '--timeout-ms', '500'], {}).timeoutMs).toBe(500);
  });
});

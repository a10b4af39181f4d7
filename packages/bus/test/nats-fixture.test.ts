// The testkit's startNats fixture itself.
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNats } from './helpers.js';

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });

describe('startNats', () => {
  it('runs an isolated server on 127.0.0.1 and removes everything on stop', async () => {
    const [a, b] = await Promise.all([startNats(), startNats({ jetstream: false })]);
    expect(a.url).toBe(`nats://127.0.0.1:${a.port}`);
    expect(a.port).not.toBe(b.port);
    expect(a.storeDir).not.toBe(b.storeDir);
    expect(existsSync(a.logFile)).toBe(true);
    expect(a.logTail()).toMatch(/Starting JetStream/);
    expect(b.logTail()).not.toMatch(/Starting JetStream/);
    await Promise.all([a.stop(), b.stop()]);
    await a.stop(); // twice is fine
    expect(await refused(a.port)).toBe(true);
    expect(existsSync(dirname(a.logFile))).toBe(false);
  });

  it('fails loudly with the server log when the server cannot start', async () => {
    await expect(startNats({ config: 'this is { not valid' })).rejects.toThrow(/nats-server exited with status \d+ before accepting connections[\s\S]*nats-server log:/);
  });

  it('fails naming the binary when it is missing', async () => {
    const saved = process.env.BERTH_NATS_SERVER;
    process.env.BERTH_NATS_SERVER = '/nonexistent/nats-server';
    try {
      await expect(startNats()).rejects.toThrow(/required binary "\/nonexistent\/nats-server" was not found \(apt-get install nats-server\)/);
    } finally {
      if (saved === undefined) delete process.env.BERTH_NATS_SERVER;
      else process.env.BERTH_NATS_SERVER = saved;
    }
  });

  it('refuses contradictory auth options', async () => {
    await expect(startNats({ user: 'u' })).rejects.toThrow(/user and pass go together/);
    await expect(startNats({ token: 't', user: 'u', pass: 'p' })).rejects.toThrow(/either a token or a user\/password/);
  });
});

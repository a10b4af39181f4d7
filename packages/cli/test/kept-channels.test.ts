// The CLI host keeps each service's channel open from one command to the
// next (keepChannels): sessions share it, closing a session leaves it open,
// and a service that restarted is reached again. In a file of its own: the
// setting is the process's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tasks } from '@berth/api';
import { keepChannels, Session } from '../src/client/session.js';
import { processIo } from '../src/stdio/io.js';
import { startFakeStack, type FakeStack } from './fake-services.js';

const runtimeDir = join(mkdtempSync(join(tmpdir(), 'berth-cli-kept-')), 'run');
let fake: FakeStack | undefined;
afterAll(async () => {
  await fake?.stop();
  rmSync(join(runtimeDir, '..'), { recursive: true, force: true });
});

async function listed(): Promise<ReturnType<tasks.ContainersClient['getChannel']>> {
  const s = new Session({ namespace: 'default', runtimeDir, io: processIo() });
  try {
    const containers = s.api(tasks.ContainersClient);
    expect(await s.unary(containers, 'listContainers', { filters: [] })).toEqual({ containers: [] });
    return containers.getChannel();
  } finally {
    s.close();
  }
}

describe('kept channels', () => {
  it('are shared by the sessions of one process, left open when they close, and replaced after a service restarts', async () => {
    keepChannels();
    fake = await startFakeStack({ confirmAttach: true, runtimeDir });
    const first = await listed();
    expect(first.getConnectivityState(false)).not.toBe(4); // not SHUTDOWN: the session left it open
    expect(await listed()).toBe(first);

    await fake.stop(); // the service goes away, and comes back on the same socket
    fake = await startFakeStack({ confirmAttach: true, runtimeDir });
    await listed();
    expect(fake.calls).toEqual(['ListContainers']);
  });
});

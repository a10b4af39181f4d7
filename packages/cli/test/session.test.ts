// The CLI's session against stand-in services (see fake-services.ts): the
// APIs of one service share one channel, calls work through it, and closing
// the session closes it.
import { afterEach, describe, expect, it } from 'vitest';
import { images, tasks } from '@berth/api';
import { CallError, Code } from '../src/client/errors.js';
import { Session } from '../src/client/session.js';
import { processIo } from '../src/stdio/io.js';
import { startFakeStack, type FakeStack } from './fake-services.js';

let fake: FakeStack | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

describe('Session', () => {
  it('gives the APIs of one service one channel, and another service its own', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    const s = new Session({ namespace: 'default', runtimeDir: fake.runtimeDir, io: processIo() });
    try {
      const containers = s.api(tasks.ContainersClient);
      const taskApi = s.api(tasks.TasksClient);
      const imageApi = s.api(images.ImagesClient);
      expect(s.api(tasks.ContainersClient)).toBe(containers);
      expect(taskApi.getChannel()).toBe(containers.getChannel());
      expect(imageApi.getChannel()).not.toBe(containers.getChannel());

      expect(await s.unary(containers, 'listContainers', { filters: [] })).toEqual({ containers: [] });
      // the second API's first call goes through the channel the first one connected
      const err = await s.unary(taskApi, 'startTask', { containerId: 'nope', execId: '' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CallError);
      expect((err as CallError).code).toBe(Code.NOT_FOUND);
      expect(fake.calls).toEqual(['ListContainers', 'StartTask']);
    } finally {
      s.close();
    }
  });

  it('closes its channels on close, so the process can exit and no call goes out after', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    const s = new Session({ namespace: 'default', runtimeDir: fake.runtimeDir, io: processIo() });
    const containers = s.api(tasks.ContainersClient);
    await s.unary(containers, 'listContainers', { filters: [] });
    s.close();
    expect(containers.getChannel().getConnectivityState(false)).toBe(4); // SHUTDOWN
    await expect(s.unary(containers, 'listContainers', { filters: [] })).rejects.toThrow();
    expect(fake.calls).toEqual(['ListContainers']);
  });
});

import { describe, expect, it } from 'vitest';
import { tasks, types } from '@berth/api';
import { parseVolume } from '../src/parse/mounts.js';
import { parsePublish } from '../src/parse/ports.js';
import { buildCreateRequest, type RunFlags } from '../src/run-spec.js';

const flags = (f: Partial<RunFlags> = {}): RunFlags => ({
  env: [],
  envFile: [],
  publish: [],
  expose: [],
  volume: [],
  mount: [],
  tmpfs: [],
  network: [],
  networkAlias: [],
  capAdd: [],
  capDrop: [],
  label: [],
  pull: 'missing',
  addHost: [],
  dns: [],
  dnsSearch: [],
  dnsOption: [],
  ...f,
});
const inputs = {
  readFile: (p: string) => {
    if (p === 'app.env') return 'FROM_FILE=1\n# c\nHOME\n';
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  },
  env: { HOME: '/root' },
  randomName: () => 'anon0',
};

describe('buildCreateRequest', () => {
  it('maps every run flag into the container spec', () => {
    const req = buildCreateRequest(
      'busybox',
      ['echo', 'hi'],
      flags({
        name: 'web',
        rm: true,
        interactive: true,
        tty: true,
        env: ['A=1', 'HOME', 'UNSET'],
        envFile: ['app.env'],
        publish: [parsePublish('127.0.0.1:8080:80'), parsePublish('53:53/udp')],
        publishAll: true,
        volume: [parseVolume('/srv:/srv:ro', '/cwd'), parseVolume('/scratch', '/cwd')],
        workdir: '/w',
        user: 'app:app',
        network: ['appnet'],
        networkAlias: ['api'],
        ip: '10.89.0.9',
        hostname: 'h',
        memory: 512 * 1024 ** 2,
        cpus: 1_500_000_000,
        pidsLimit: 100,
        readOnly: true,
        capAdd: ['NET_ADMIN'],
        capDrop: ['ALL'],
        privileged: false,
        label: ['a=b'],
        stopSignal: 'SIGINT',
        stopTimeout: 3,
        init: true,
        shmSize: 1024,
      }),
      inputs,
    );
    expect(req.name).toBe('web');
    const s = req.spec!;
    expect(s.image).toBe('busybox');
    expect(s.cmd).toEqual({ args: ['echo', 'hi'] });
    expect(s.entrypoint).toBeUndefined();
    expect(s.env).toEqual(['FROM_FILE=1', 'HOME=/root', 'A=1', 'HOME=/root']);
    expect(s.tty && s.openStdin && s.readOnlyRootfs && s.init && s.publishAll).toBe(true);
    expect(s.autoRemove).toBe(false); // a foreground run removes its container itself
    expect(s.ports).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: types.Protocol.TCP },
      { hostIp: '', hostPort: 53, containerPort: 53, protocol: types.Protocol.UDP },
    ]);
    expect(s.mounts).toEqual([
      { type: 'bind', source: '/srv', target: '/srv', options: ['rbind', 'ro'] },
      { type: 'volume', source: 'anon0', target: '/scratch', options: ['rw'] },
    ]);
    expect(s.networks).toEqual([{ network: 'appnet', aliases: ['api'], ipAddress: '10.89.0.9' }]);
    expect(s.resources).toMatchObject({ memoryBytes: 512 * 1024 ** 2, nanoCpus: 1_500_000_000, pidsLimit: 100 });
    expect(s.capAdd).toEqual(['NET_ADMIN']);
    expect(s.capDrop).toEqual(['ALL']);
    expect(s.labels).toEqual({ a: 'b' });
    expect(s.stopSignal).toBe('SIGINT');
    expect(s.stopTimeoutSeconds).toBe(3);
    expect(s.shmSizeBytes).toBe(1024);
    expect(s.workingDir).toBe('/w');
    expect(s.user).toBe('app:app');
    expect(s.hostname).toBe('h');
  });

  it('--rm -d leaves the removal to the tasks service', () => {
    expect(buildCreateRequest('busybox', [], flags({ rm: true, detach: true }), inputs).spec?.autoRemove).toBe(true);
  });

  it('keeps the image\'s command unless one is given; --entrypoint drops it, "" clears the entrypoint', () => {
    expect(buildCreateRequest('busybox', [], flags(), inputs).spec?.cmd).toBeUndefined();
    expect(buildCreateRequest('busybox', [], flags({ entrypoint: '/bin/sh' }), inputs).spec).toMatchObject({
      entrypoint: { args: ['/bin/sh'] },
      cmd: { args: [] },
    });
    expect(buildCreateRequest('busybox', ['ls'], flags({ entrypoint: '' }), inputs).spec).toMatchObject({
      entrypoint: { args: [] },
      cmd: { args: ['ls'] },
    });
    expect(buildCreateRequest('busybox', [], flags({ restart: { name: 'on-failure', maxRetries: 3 } }), inputs).spec?.restartPolicy).toEqual({
      name: tasks.RestartPolicyName.ON_FAILURE,
      maxRetries: 3,
    });
  });

  it.each([
    [{ rm: true, restart: { name: 'always' as const, maxRetries: 0 } }, 'conflicting options: --restart and --rm'],
    [{ network: ['host', 'appnet'] }, '--network host cannot be combined'],
    [{ network: ['none'], publish: [parsePublish('80:80')] }, 'ports cannot be published with --network none'],
    [{ networkAlias: ['x'] }, '--network-alias needs a user-defined --network'],
    [{ name: '-bad' }, 'invalid container name "-bad"'],
    [{ name: 'x' }, 'invalid container name "x": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters'],
    [{ memory: 64 * 1024 ** 2, memorySwap: 32 * 1024 ** 2 }, '--memory-swap must be at least --memory'],
    [{ envFile: ['missing.env'] }, 'cannot read --env-file missing.env: ENOENT'],
    [{ volume: [parseVolume('/a:/x', '/cwd'), parseVolume('v:/x', '/cwd')] }, 'duplicate mount point: /x'],
  ])('refuses %j', (f, message) => expect(() => buildCreateRequest('busybox', [], flags(f), inputs)).toThrow(message));
});

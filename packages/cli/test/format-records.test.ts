import { describe, expect, it } from 'vitest';
import { images, tasks, timestampFromDate, types } from '@berth/api';
import { commandText, containerState, containerStatus, familiarImage, portsText, psColumns, psObject } from '../src/format/containers.js';
import { imageColumns, imageObject, splitName } from '../src/format/images.js';
import { expandJsonFields, jsonView } from '../src/format/json-view.js';
import { LogPrinter } from '../src/format/logs.js';
import { cpuPercent, statsObject, statsRow } from '../src/format/stats.js';
import { renderList } from '../src/output.js';

const now = new Date('2024-05-01T12:00:00Z');
const at = (iso: string) => timestampFromDate(new Date(iso));
const ID = 'f'.repeat(64);

function container(status: Partial<tasks.ContainerStatus>, extra: Partial<tasks.Container> = {}): tasks.Container {
  return tasks.Container.fromPartial({
    id: ID,
    name: 'web',
    imageName: 'docker.io/library/busybox:latest',
    imageId: 'sha256:' + 'c'.repeat(64),
    spec: { image: 'busybox', labels: { tier: 'front' }, networks: [{ network: 'appnet' }] },
    runtimeSpecJson: Buffer.from(JSON.stringify({ process: { args: ['sh', '-c', 'while true; do sleep 1; done'] } })),
    createdAt: at('2024-05-01T11:59:00Z'),
    status,
    ...extra,
  });
}

describe('containers', () => {
  it('state and status as docker ps shows them', () => {
    const running = container({ state: tasks.ContainerState.RUNNING, startedAt: at('2024-05-01T11:59:55Z') });
    expect(containerState(running)).toBe('running');
    expect(containerStatus(running, now)).toBe('Up 5 seconds');
    const paused = container({ state: tasks.ContainerState.PAUSED, startedAt: at('2024-05-01T11:58:00Z') });
    expect(containerStatus(paused, now)).toBe('Up 2 minutes (Paused)');
    const exited = container({
      state: tasks.ContainerState.STOPPED,
      exitStatus: { exitCode: 3, signal: 0, oomKilled: false, exitedAt: at('2024-05-01T11:00:00Z') },
    });
    expect(containerState(exited)).toBe('exited');
    expect(containerStatus(exited, now)).toBe('Exited (3) About an hour ago');
    expect(containerStatus(container({ state: tasks.ContainerState.CREATED }), now)).toBe('Created');
    expect(containerStatus(container({ state: tasks.ContainerState.UNKNOWN }), now)).toBe('Unknown');
  });

  it('command from the runtime spec, quoted and cut to 20 characters', () => {
    const c = container({ state: tasks.ContainerState.RUNNING });
    expect(commandText(c)).toBe('"sh -c while true; d…"');
    expect(commandText(c, true)).toBe('"sh -c while true; do sleep 1; done"');
    const fromSpec = container({}, { runtimeSpecJson: Buffer.alloc(0), spec: { image: 'x', entrypoint: { args: ['/init'] }, cmd: { args: ['run'] } } as tasks.ContainerSpec });
    expect(commandText(fromSpec)).toBe('"/init run"');
  });

  it('ports as published', () => {
    const c = container({
      state: tasks.ContainerState.RUNNING,
      ports: [
        { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: types.Protocol.TCP },
        { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: types.Protocol.UDP },
      ],
    });
    expect(portsText(c)).toBe('127.0.0.1:8080->80/tcp, 127.0.0.1:5353->53/udp');
  });

  it('familiar image names', () => {
    expect(familiarImage('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarImage('docker.io/user/app:1')).toBe('user/app:1');
    expect(familiarImage('127.0.0.1:5000/library/busybox:latest')).toBe('127.0.0.1:5000/library/busybox:latest');
  });

  it('ps JSON shape', () => {
    const c = container({
      state: tasks.ContainerState.STOPPED,
      nodeId: 'n1',
      exitStatus: { exitCode: 0, signal: 0, oomKilled: false, exitedAt: at('2024-05-01T11:59:59Z') },
    });
    expect(psObject(c, now)).toEqual({
      ID,
      Names: 'web',
      Image: 'busybox',
      ImageName: 'docker.io/library/busybox:latest',
      ImageID: 'sha256:' + 'c'.repeat(64),
      Command: 'sh -c while true; do sleep 1; done',
      CreatedAt: '2024-05-01T11:59:00.000Z',
      RunningFor: 'About a minute ago',
      State: 'exited',
      Status: 'Exited (0) 1 second ago',
      ExitCode: 0,
      Ports: '',
      Networks: 'appnet',
      Node: 'n1',
      Labels: { tier: 'front' },
    });
    expect(psObject(container({ state: tasks.ContainerState.CREATED }), now).ExitCode).toBeNull();
  });

  it('ps table columns', () => {
    const c = container({ state: tasks.ContainerState.RUNNING, startedAt: at('2024-05-01T11:59:55Z') });
    const text = renderList([c], { format: 'table', columns: psColumns({ noTrunc: false }, now), json: (x) => x });
    const [header, row] = text.split('\n');
    expect(header).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(row).toMatch(/^ffffffffffff\s+busybox\s+"sh -c while true; d…"\s+About a minute ago\s+Up 5 seconds\s+web$/);
    // every column starts at the header's offset
    expect(row!.indexOf('busybox')).toBe(header!.indexOf('IMAGE'));
    expect(row!.indexOf('Up 5')).toBe(header!.indexOf('STATUS'));
  });
});

describe('images', () => {
  const image = images.Image.fromPartial({
    name: 'docker.io/library/busybox:latest',
    target: { digest: 'sha256:' + 'a'.repeat(64), size: 500, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    labels: {},
    createdAt: at('2024-05-01T10:00:00Z'),
  });
  const inspect = images.InspectImageResponse.fromPartial({
    image,
    config: { digest: 'sha256:' + 'b'.repeat(64), size: 100 },
    configJson: Buffer.from(JSON.stringify({ created: '2020-01-01T00:00:00Z' })),
    contentSize: 2_150_000,
    platforms: [{ os: 'linux', architecture: 'amd64' }],
  });

  it('splits names', () => {
    expect(splitName('docker.io/library/busybox:latest')).toEqual({ repository: 'busybox', tag: 'latest', digest: '' });
    expect(splitName('127.0.0.1:5000/a/b:1.0')).toEqual({ repository: '127.0.0.1:5000/a/b', tag: '1.0', digest: '' });
    expect(splitName('127.0.0.1:5000/a/b@sha256:abc')).toEqual({ repository: '127.0.0.1:5000/a/b', tag: '<none>', digest: 'sha256:abc' });
  });

  it('images JSON shape, created from the config', () => {
    expect(imageObject({ image, inspect }, now)).toEqual({
      Name: 'docker.io/library/busybox:latest',
      Repository: 'busybox',
      Tag: 'latest',
      ID: 'sha256:' + 'b'.repeat(64),
      Digest: 'sha256:' + 'a'.repeat(64),
      CreatedAt: '2020-01-01T00:00:00.000Z',
      CreatedSince: '4 years ago',
      Size: '2.15MB',
      SizeBytes: 2_150_000,
      Platforms: ['linux/amd64'],
      Labels: {},
    });
    // without InspectImage: the record's own id and time
    expect(imageObject({ image }, now)).toMatchObject({ ID: 'sha256:' + 'a'.repeat(64), CreatedSince: '2 hours ago', SizeBytes: 500 });
  });

  it('images table', () => {
    const text = renderList([{ image, inspect }], { format: 'table', columns: imageColumns({ noTrunc: false, digests: false }, now), json: (x) => x });
    expect(text).toBe('REPOSITORY   TAG      IMAGE ID       CREATED       SIZE\nbusybox      latest   bbbbbbbbbbbb   4 years ago   2.15MB\n');
  });
});

describe('inspect JSON', () => {
  it('shows *_json byte fields as the JSON they hold', () => {
    const c = tasks.Container.fromPartial({ id: 'x', runtimeSpecJson: Buffer.from('{"ociVersion":"1.1.0","process":{"args":["sh"]}}') });
    const view = jsonView(tasks.Container, c) as Record<string, unknown>;
    expect(view['runtimeSpec']).toEqual({ ociVersion: '1.1.0', process: { args: ['sh'] } });
    expect(view).not.toHaveProperty('runtimeSpecJson');
    expect(expandJsonFields({ nested: [{ configJson: Buffer.from('[1]').toString('base64') }], otherJson: 'not base64 JSON' })).toEqual({
      nested: [{ config: [1] }],
      otherJson: 'not base64 JSON',
    });
    // a name already taken keeps its field: InspectImage has a config descriptor and the config JSON
    const config = { digest: 'sha256:x' };
    expect(expandJsonFields({ config, configJson: Buffer.from('{"os":"linux"}').toString('base64') })).toEqual({
      config,
      configJson: { os: 'linux' },
    });
  });
});

describe('logs', () => {
  it('prefixes each line with its time with -t, once per line split into partial entries', () => {
    const p = new LogPrinter(true);
    const t = { seconds: 1714557600, nanos: 42 };
    const out = [
      p.chunk({ stream: 'stdout', time: t, data: Buffer.from('hel'), partial: true }),
      p.chunk({ stream: 'stderr', time: t, data: Buffer.from('oops\n'), partial: false }),
      p.chunk({ stream: 'stdout', time: t, data: Buffer.from('lo\n'), partial: false }),
      p.chunk({ stream: 'stdout', time: t, data: Buffer.from('next\n'), partial: false }),
    ];
    expect(out.map((c) => `${c.stream}:${c.data.toString()}`)).toEqual([
      'stdout:2024-05-01T10:00:00.000000042Z hel',
      'stderr:2024-05-01T10:00:00.000000042Z oops\n',
      'stdout:lo\n',
      'stdout:2024-05-01T10:00:00.000000042Z next\n',
    ]);
  });
  it('passes bytes through untouched without -t', () => {
    const p = new LogPrinter(false);
    expect(p.chunk({ stream: 'stdout', time: undefined, data: Buffer.from([0xff, 0x00]), partial: false }).data).toEqual(Buffer.from([0xff, 0x00]));
  });
});

describe('stats', () => {
  const cpu = (total: number, system: number) => types.CpuStats.fromPartial({ usageTotalNs: total, systemUsageNs: system, onlineCpus: 2 });
  it('CPU % over two samples, Docker\'s formula', () => {
    expect(cpuPercent(cpu(1e9, 10e9), cpu(1.5e9, 12e9))).toBeCloseTo(50);
    expect(cpuPercent(undefined, cpu(1, 1))).toBe(0);
    expect(cpuPercent(cpu(5, 5), cpu(5, 5))).toBe(0);
  });
  it('a row and its JSON, unlimited memory shown as the host\'s', () => {
    const prev = types.TaskStats.fromPartial({ containerId: ID, cpu: cpu(0, 0) });
    const cur = types.TaskStats.fromPartial({
      containerId: ID,
      cpu: cpu(1e9, 4e9),
      memory: { usageBytes: 30 * 1024 ** 2, cacheBytes: 10 * 1024 ** 2, limitBytes: 0 },
      pids: { current: 3 },
      networks: [{ name: 'eth0', rxBytes: 1000, txBytes: 2000 }],
      blockIo: { readBytes: 4096, writeBytes: 0 },
    });
    const row = statsRow(prev, cur, 'web', 1024 ** 3);
    expect(statsObject(row)).toEqual({
      ID,
      Name: 'web',
      CPUPerc: '50.00%',
      MemUsage: '20MiB / 1GiB',
      MemPerc: '1.95%',
      NetIO: '1kB / 2kB',
      BlockIO: '4.096kB / 0B',
      PIDs: 3,
      CPU: 50,
      MemoryBytes: 20 * 1024 ** 2,
      MemoryLimitBytes: 1024 ** 3,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { parseMountFlag, parseTmpfs, parseVolume } from '../src/parse/mounts.js';
import { formatPublished, parsePublish } from '../src/parse/ports.js';

describe('parsePublish', () => {
  it.each([
    ['8080:80', [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1:8080:80/udp', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['127.0.0.1::80', [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['80', [{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['[::1]:8080:80', [{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['53:53/SCTP', [{ hostIp: '', hostPort: 53, containerPort: 53, protocol: 'sctp' }]],
  ])('%s', (input, expected) => expect(parsePublish(input)).toEqual(expected));

  it('expands equal ranges pairwise', () => {
    expect(parsePublish('8000-8001:80-81').map((p) => [p.hostPort, p.containerPort])).toEqual([
      [8000, 80],
      [8001, 81],
    ]);
    expect(parsePublish('7000-7001').map((p) => [p.hostPort, p.containerPort])).toEqual([
      [0, 7000],
      [0, 7001],
    ]);
  });

  it.each([
    ['99999:80', 'host port 99999 is out of range (1-65535)'],
    ['80:0', 'container port 0 is out of range'],
    ['8080:80/icmp', 'unknown protocol "icmp"'],
    ['a:80', 'host port "a" is not a port number'],
    ['300.1.1.1:80:80', '"300.1.1.1" is not an IP address'],
    ['8000-8002:80-81', 'has 3 ports but container range 80-81 has 2'],
    ['90-80:90-80', 'ends before it starts'],
    ['1:2:3:4', 'expected [ip:][hostPort:]containerPort'],
    ['8080:', 'no container port'],
  ])('rejects %s clearly', (input, message) => {
    expect(() => parsePublish(input)).toThrow(`invalid port mapping "${input}"`);
    expect(() => parsePublish(input)).toThrow(message);
  });

  it('formats as ps shows ports', () => {
    expect(formatPublished({ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' })).toBe('127.0.0.1:8080->80/tcp');
    expect(formatPublished({ hostIp: '::1', hostPort: 53, containerPort: 53, protocol: 'udp' })).toBe('[::1]:53->53/udp');
    expect(formatPublished({ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' })).toBe('80/tcp');
  });
});

describe('parseVolume', () => {
  it('binds absolute host paths', () => {
    expect(parseVolume('/srv/data:/data', '/cwd')).toEqual({ type: 'bind', source: '/srv/data', target: '/data', options: ['rbind', 'rw'] });
    expect(parseVolume('/srv/data:/data:ro', '/cwd')).toEqual({ type: 'bind', source: '/srv/data', target: '/data', options: ['rbind', 'ro'] });
    expect(parseVolume('/a:/b:ro,rshared', '/cwd').options).toEqual(['rbind', 'rshared', 'ro']);
  });
  it('resolves ./relative host paths against the working directory', () => {
    expect(parseVolume('./data:/data', '/home/u').source).toBe('/home/u/data');
  });
  it('mounts named and anonymous volumes', () => {
    expect(parseVolume('cache:/cache', '/cwd')).toEqual({ type: 'volume', source: 'cache', target: '/cache', options: ['rw'] });
    expect(parseVolume('/scratch', '/cwd')).toEqual({ type: 'volume', source: '', target: '/scratch', options: ['rw'] });
    expect(parseVolume('/scratch:ro', '/cwd')).toEqual({ type: 'volume', source: '', target: '/scratch', options: ['ro'] });
    expect(parseVolume('cache:/c:nocopy', '/cwd').options).toEqual(['nocopy', 'rw']);
  });
  it.each([
    ['data', 'must be an absolute path'],
    ['/a:data', 'unknown option "data"'],
    ['a b:/c', 'is neither an absolute host path nor a volume name'],
    ['/a:/b:ro,rw', 'both ro and rw given'],
    ['/a:/', 'cannot mount over the container\'s root'],
    ['a:/b:c:d', 'expected [source:]target[:options]'],
    ['cache:/c:rshared', 'applies to bind mounts only'],
    ['/x:/c:nocopy', 'nocopy applies to volumes only'],
  ])('rejects %s', (input, message) => expect(() => parseVolume(input, '/cwd')).toThrow(message));
});

describe('parseMountFlag', () => {
  it('reads bind, volume and tmpfs mounts', () => {
    expect(parseMountFlag('type=bind,source=/a,target=/b,readonly', '/cwd')).toEqual({
      type: 'bind',
      source: '/a',
      target: '/b',
      options: ['rbind', 'ro'],
    });
    expect(parseMountFlag('type=volume,src=v1,dst=/v,volume-nocopy', '/cwd')).toEqual({
      type: 'volume',
      source: 'v1',
      target: '/v',
      options: ['nocopy', 'rw'],
    });
    expect(parseMountFlag('type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1777', '/cwd')).toEqual({
      type: 'tmpfs',
      source: '',
      target: '/t',
      options: ['nosuid', 'nodev', `size=${64 * 1024 * 1024}`, 'mode=1777', 'rw'],
    });
    expect(parseMountFlag('type=bind,src=rel,target=/b,bind-propagation=rslave', '/w').source).toBe('/w/rel');
    expect(parseMountFlag('target=/anon', '/cwd').type).toBe('volume');
  });
  it.each([
    ['type=nfs,target=/x', 'type "nfs" is not bind, volume or tmpfs'],
    ['type=bind,target=/x', 'type=bind needs a source path'],
    ['type=bind,source=/a', 'no destination path'],
    ['type=tmpfs,source=x,target=/t', 'type=tmpfs takes no source'],
    ['type=volume,target=/t,tmpfs-size=1m', 'tmpfs-size applies to type=tmpfs only'],
    ['type=bind,src=/a,dst=/b,colour=red', 'unknown field "colour"'],
    ['type=bind,src=/a,dst=/b,readonly=maybe', 'readonly=maybe is not true or false'],
    ['type=bind,src=/a,src=/c,dst=/b', 'src given twice'],
  ])('rejects %s', (input, message) => expect(() => parseMountFlag(input, '/cwd')).toThrow(message));
});

describe('parseTmpfs', () => {
  it('takes a path and mount options', () => {
    expect(parseTmpfs('/run:size=64m,mode=1777')).toEqual({
      type: 'tmpfs',
      source: '',
      target: '/run',
      options: ['nosuid', 'nodev', 'size=64m', 'mode=1777'],
    });
    expect(() => parseTmpfs('run')).toThrow('must be an absolute path');
  });
});

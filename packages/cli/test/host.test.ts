// The CLI host and its client (the package's `berth`, scripts/client.pl): a
// host served from this process on a runtime dir without services, and the
// built client run as a user runs it. Whatever the host runs must print and
// exit as a berth process does; what it cannot run (stdin, a terminal, the
// stack's own lifecycle) it hands back, and without a host the client runs
// the command itself.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { commandPath, localReason } from '../src/host/gate.js';
import { callerMismatch, encodeFrame, Frame, FrameReader, MAX_FRAME, parseRequest } from '../src/host/protocol.js';
import { listen, type HostLog } from '../src/host/server.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}
import { assertBuilt, BIN } from './built-bin.js';

const BUNDLE = join(BIN, '..');

describe('frames', () => {
  it('come out whole however the bytes are cut', () => {
    const bytes = Buffer.concat([encodeFrame(Frame.STDOUT, 'hello'), encodeFrame(Frame.EXIT, '3'), encodeFrame(Frame.STDERR, Buffer.alloc(0))]);
    for (const cut of [1, 3, 5, 7, bytes.length - 1]) {
      const reader = new FrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(frames.map((f) => [String.fromCharCode(f.type), f.payload.toString()])).toEqual([['O', 'hello'], ['X', '3'], ['E', '']]);
    }
  });

  it('larger than the limit are refused', () => {
    const head = Buffer.from([Frame.REQUEST, 0, 0, 0, 0]);
    head.writeUInt32BE(MAX_FRAME + 1, 1);
    expect(() => new FrameReader().push(head)).toThrow(/at most/);
  });

  it('carry requests that are checked', () => {
    const who = { uid: 0, umask: 18, mountNamespace: 'mnt:[1]', build: 'b1' };
    const ok = { argv: ['ps'], env: { A: '1' }, cwd: '/w', tty: [false, true, 'yes'], columns: 80, rows: -1, ...who };
    expect(parseRequest(Buffer.from(JSON.stringify(ok)))).toEqual({ argv: ['ps'], env: { A: '1' }, cwd: '/w', tty: [false, true, false], columns: 80, ...who });
    for (const bad of [{ ...ok, argv: [1] }, { ...ok, cwd: 'w' }, { ...ok, env: { A: 1 } }, { ...ok, env: null }, { ...ok, uid: '0' }, { ...ok, mountNamespace: undefined }]) {
      expect(() => parseRequest(Buffer.from(JSON.stringify(bad)))).toThrow();
    }
    expect(() => parseRequest(Buffer.from('{'))).toThrow();
  });
});

describe('which callers the host runs commands for', () => {
  const self = { uid: 0, umask: 0o022, mountNamespace: 'mnt:[1]', build: 'b1' };
  const request = { argv: ['ps'], env: { HOME: '/root', BERTH_RUNTIME_DIR: '/run/b' }, cwd: '/', tty: [false, false, false] as [boolean, boolean, boolean], ...self };
  it('its own user, umask and mount namespace, with absolute paths in the environment', () => {
    expect(callerMismatch(request, self)).toBeUndefined();
    expect(callerMismatch({ ...request, uid: 1000 }, self)).toBe('another user');
    expect(callerMismatch({ ...request, umask: 0o077 }, self)).toBe('another umask');
    expect(callerMismatch({ ...request, mountNamespace: 'mnt:[2]' }, self)).toBe('another mount namespace');
    expect(callerMismatch({ ...request, build: 'b2' }, self)).toMatch(/^another build of berth/);
    expect(callerMismatch({ ...request, env: { DOCKER_CONFIG: 'conf' } }, self)).toBe('a relative DOCKER_CONFIG');
    expect(callerMismatch({ ...request, env: { BERTH_RUNTIME_DIR: 'run' } }, self)).toBe('a relative BERTH_RUNTIME_DIR');
  });
});

describe('which commands the host hands back', () => {
  it.each([
    [['system', 'up'], {}],
    [['system', 'df'], {}],
    [['events'], {}],
    [['login'], {}],
    [['logout'], {}],
    [['run'], { interactive: true }],
    [['container', 'run'], { tty: true }],
    [['exec'], { interactive: true }],
    [['load'], {}],
    [['image', 'prune'], {}],
    [['prune'], { force: false }],
    [['run'], { envFile: ['a.env', '/dev/fd/63'] }],
    [['load'], { input: '/dev/stdin' }],
    [['save'], { output: '/proc/self/fd/1' }],
  ])('%j %j runs in a berth process', (path, opts) => expect(localReason(path, opts)).toBeDefined());

  it.each([
    [['run'], { rm: true, detach: false }],
    [['ps'], { all: true }],
    [['load'], { input: 'a.tar' }],
    [['container', 'prune'], { force: true }],
    [['logs'], { follow: true }],
    [['version'], {}],
  ])('%j %j runs in the host', (path, opts) => expect(localReason(path, opts)).toBeUndefined());

  it('names a command by its path from the root', () => {
    const root = new Command('berth');
    const run = root.command('container').command('run');
    expect(commandPath(run)).toEqual(['container', 'run']);
  });
});

describe('the client and the host', () => {
  let dir: string;
  let server: Server | undefined;
  const served: { argv0?: string; code?: number }[] = [];
  const log: HostLog = { info: (fields) => served.push(fields as { argv0?: string }), warn: () => undefined };

  beforeAll(() => {
    assertBuilt();
    spawnSync('perl', ['-v'], { stdio: 'ignore' }).status === 0 || expect.fail('perl is missing: run tools/setup.sh');
    dir = mkdtempSync(join(tmpdir(), 'berth-cli-host-'));
  });
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    served.length = 0;
    rmSync(join(dir, 'cli.sock'), { force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, BERTH_RUNTIME_DIR: dir, BERTH_NATS_PORT: '1', DOCKER_CONFIG: join(dir, 'docker'), ...extra });
  // asynchronous: the host answers from this process
  function run(file: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { env: env(o.env), cwd: o.cwd ?? dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }
  const berth = (args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) => run(BIN, args, o);
  const local = (args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) => berth(args, { ...o, env: { ...o.env, BERTH_CLI_HOST: '0' } });
  /** This process's identity, which the clients it spawns share. */
  const self = () => {
    const umask = process.umask(0o022);
    process.umask(umask);
    return { uid: process.getuid!(), umask, mountNamespace: readlinkSync('/proc/self/ns/mnt'), build: readFileSync(join(BUNDLE, 'build-id'), 'utf8').trim() };
  };
  const host = async () => (server = await listen(join(dir, 'cli.sock'), log, self()));
  /** A stand-in host: `onFrame` sees each frame the client sends. */
  async function fakeHost(onFrame: (socket: Socket, type: string) => void): Promise<void> {
    server = createServer((socket) => {
      const reader = new FrameReader();
      socket.on('data', (chunk: Buffer) => reader.push(chunk).forEach((f) => onFrame(socket, String.fromCharCode(f.type))));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server!.listen(join(dir, 'cli.sock'), r));
  }

  it('answers as a berth process does: output, errors, exit codes', async () => {
    await host();
    for (const args of [['--version'], ['ps'], ['nosuch'], ['run', '--memory', 'lots', 'busybox'], ['inspect'], ['completion', 'bash'], ['rm', 'a', 'b']]) {
      const before = served.length;
      expect(await berth(args), args.join(' ')).toEqual(await local(args));
      expect(served.length, `${args.join(' ')} was served by the host`).toBe(before + 1);
    }
    expect((await berth(['ps'])).code).toBe(125);
    expect((await berth(['ps'])).stderr).toMatch(/not running/);
  });

  it('runs each command in its caller\'s environment and working directory', async () => {
    await host();
    const other = mkdtempSync(join(tmpdir(), 'berth-cli-host-cwd-'));
    try {
      const v = JSON.parse((await berth(['version', '--format', 'json'])).stdout) as { server: { runtimeDir: string } };
      expect(v.server.runtimeDir).toBe(dir);
      // an --env-file relative to the caller's directory is found there (then the missing stack is the error)
      writeFileSync(join(other, 'app.env'), 'A=1\n');
      const r = await berth(['run', '--env-file', 'app.env', 'busybox'], { cwd: other });
      expect(r.stderr).not.toMatch(/env-file/);
      expect(r.stderr).toMatch(/not running/);
      expect((await berth(['run', '--env-file', 'app.env', 'busybox'], { cwd: dir })).stderr).toMatch(/cannot read --env-file app\.env/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('keeps concurrent clients apart', async () => {
    await host();
    const commands = [['completion', 'bash'], ['version'], ['--help'], ['nosuch'], ['ps']];
    const expected = await Promise.all(commands.map((c) => local(c)));
    const runs = Array.from({ length: 20 }, (_, i) => commands[i % commands.length]!);
    const results = await Promise.all(
      runs.map(
        (args) =>
          new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn(BIN, args, { env: env(), cwd: dir });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('close', (code) => resolve({ code, stdout, stderr }));
          }),
      ),
    );
    results.forEach((r, i) => expect(r, runs[i]!.join(' ')).toEqual(expected[i % commands.length]));
    expect(served.length).toBe(runs.length);
  });

  it('hands back what needs the caller\'s stdin, terminal or stack: the client runs it itself', async () => {
    await host();
    for (const args of [['run', '-i', 'busybox', 'cat'], ['system', 'status'], ['load'], ['container', 'prune']]) {
      expect(await berth(args), args.join(' ')).toEqual(await local(args));
    }
    expect(served).toEqual([]);
  });

  it('is not needed: without one, a stale socket file, or BERTH_CLI_HOST=0, the client runs the command', async () => {
    const want = await local(['version', '--format', '{{.Client.Version}}']);
    expect(want.code).toBe(0);
    expect(await berth(['version', '--format', '{{.Client.Version}}'])).toEqual(want);
    writeFileSync(join(dir, 'cli.sock'), ''); // a file where the socket was: connecting is refused
    expect(await berth(['version', '--format', '{{.Client.Version}}'])).toEqual(want);
    rmSync(join(dir, 'cli.sock'));
    await host();
    expect(await berth(['version', '--format', '{{.Client.Version}}'], { env: { BERTH_CLI_HOST: '0' } })).toEqual(want);
    expect(await berth(['--runtime-dir', dir, 'version', '--format', '{{.Client.Version}}'])).toEqual(want);
    expect(served).toEqual([]);
    expect(await berth(['version', '--format', '{{.Client.Version}}'])).toEqual(want);
    expect(served).toHaveLength(1);
  });

  it('an argument that is not UTF-8 stays as given: the client runs that command itself', async () => {
    await host();
    // Node would pass arguments as UTF-8: a shell passes the bytes
    const r = await run('/bin/sh', ['-c', `"$0" inspect "$(printf 'n\\377o')"`, BIN]);
    expect(r.stderr).toMatch(/not running/);
    expect(r.code).toBe(125);
    expect(served).toEqual([]);
  });

  it('a host that does not accept in time leaves the command to the client, which runs it once, itself', async () => {
    let requests = 0;
    await fakeHost((_socket, type) => void (type === 'R' && requests++)); // reads, never answers
    const t0 = Date.now();
    const r = await berth(['version', '--format', '{{.Client.Version}}']);
    // after the whole accept wait (2 s), not at the first quiet moment
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
    expect(r).toEqual(await local(['version', '--format', '{{.Client.Version}}']));
    expect(requests).toBe(1);
  });

  it('a client dies of a signal that a hung host does not take in', async () => {
    // a "host" that accepts, takes the go, and then answers nothing
    await fakeHost((socket, type) => void (type === 'R' && socket.write(encodeFrame(Frame.ACCEPTED, ''))));
    const child = spawn(BIN, ['ps'], { env: env(), cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await code).toBe(143);
    expect(stderr).toMatch(/does not answer/);
  });

  it('hands the command back to a caller it cannot act for: another umask, a relative DOCKER_CONFIG, another build', async () => {
    server = await listen(join(dir, 'cli.sock'), log, { ...self(), build: 'an earlier build' });
    expect(await berth(['version', '--format', '{{.Client.Version}}'])).toEqual(await local(['version', '--format', '{{.Client.Version}}']));
    await new Promise((r) => server!.close(r));
    await host();
    const want = await local(['version', '--format', '{{.Client.Version}}']);
    const other = await run('/bin/sh', ['-c', 'umask 077; exec "$0" version --format "{{.Client.Version}}"', BIN]);
    expect(other).toEqual(want);
    expect(await berth(['version', '--format', '{{.Client.Version}}'], { env: { DOCKER_CONFIG: 'conf' } })).toEqual(want);
    expect(served).toEqual([]);
  });

  it('a signal the host takes in is forwarded; a command without a handler ends, and its client dies of it', async () => {
    // a real host, and a command that stays: `wait` on a stack that is not there fails at once, so
    // stand a fake tasks socket up that accepts and never answers
    const connections = new Set<import('node:net').Socket>();
    const tasks = createServer((s) => connections.add(s.resume()));
    await new Promise<void>((r) => tasks.listen(join(dir, 'tasks.sock'), r));
    try {
      await host();
      const child = spawn(BIN, ['wait', 'c1'], { env: env(), cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      const code = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      // as a berth process would, the client dies of the signal the command did not handle
      expect(await code).toBeNull();
      expect(child.signalCode).toBe('SIGINT');
      // the host ended the command too (its call was cancelled)
      for (let i = 0; i < 50 && !served.some((c) => c.argv0 === 'wait'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(served).toEqual([expect.objectContaining({ argv0: 'wait' })]);
    } finally {
      for (const c of connections) c.destroy();
      await new Promise((r) => tasks.close(r));
    }
  });

  it('a host that dies mid-command leaves its client with exit 125 and the reason', async () => {
    // a "host" that accepts and hangs up at the go
    await fakeHost((socket, type) => {
      if (type === 'R') socket.write(encodeFrame(Frame.ACCEPTED, ''));
      if (type === 'G') socket.destroy();
    });
    const r = await berth(['ps']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/closed the connection before the command ended/);
  });
});

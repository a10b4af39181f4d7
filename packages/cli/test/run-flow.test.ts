// The `run` flow of the built binary against stand-in services (see
// fake-services.ts): pull when missing, attach before start, stdio, stdin,
// signal forwarding, exit codes (3, 127, 143), --rm, -d, and for `start -a`
// the log fallback when a service does not confirm the attachment.
import { spawn } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN } from './built-bin.js';
import { KNOWN_IMAGE, startFakeStack, type FakeStack } from './fake-services.js';

let fake: FakeStack | undefined;

beforeAll(assertBuilt);
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

function berth(args: string[], o: { input?: string; whenRunning?: (child: ReturnType<typeof spawn>) => Promise<void> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: { ...process.env, BERTH_RUNTIME_DIR: fake!.runtimeDir, DOCKER_CONFIG: fake!.runtimeDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (o.whenRunning) o.whenRunning(child).catch(reject);
    else child.stdin.end(o.input ?? '');
  });
}

describe('run', () => {
  it('pulls a missing image (progress on stderr), prints the output, exits 0 and removes the container with --rm', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    const r = await berth(['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toContain("Unable to find image 'busybox:latest' locally");
    expect(r.stderr).toContain('bbbbbbbbbbbb: Pull complete');
    expect(r.stderr).toContain(`Status: Downloaded newer image for busybox:latest\n${KNOWN_IMAGE}\n`);
    expect(fake.containers.size).toBe(0);
    // As docker run: told the image is missing, pull, run again; one call does the rest (removal included)
    expect(fake.calls.filter((c) => c !== 'GetImage')).toEqual(['RunContainer', 'PullImage', 'RunContainer']);
  });

  it('-i with an image to pull first: the stdin goes to the container that runs, none is lost to the call that found no image', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    const r = await berth(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'kept for the second call\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('kept for the second call\n');
    expect(fake.calls.filter((c) => c !== 'GetImage')).toEqual(['RunContainer', 'PullImage', 'RunContainer']);
  });

  it('exits with the container\'s code, stdout and stderr apart, and keeps the container without --rm', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const r = await berth(['run', '--name', 'f3', 'busybox', 'fail', '3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('failing\n');
    expect([...fake.containers.values()].map((c) => c.name)).toEqual(['f3']);
    // a present image costs no call to the images service
    expect(fake.calls).toEqual(['RunContainer']);
  });
});

describe.each([true, false])('start -a with the attachment confirmed: %s', (confirmAttach) => {
  it('relays the output of a created container and exits with its code', async () => {
    fake = await startFakeStack({ confirmAttach });
    fake.images.add(KNOWN_IMAGE);
    expect((await berth(['create', '--name', 'later', 'busybox', 'fail', '5'])).code).toBe(0);
    const r = await berth(['start', '-a', 'later']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('failing\n');
    // confirmed: output through the attachment, which precedes the start; unconfirmed: from the logs
    expect(fake.calls.includes('ReadLogs')).toBe(!confirmAttach);
    expect(fake.calls.filter((c) => ['CreateTask', 'AttachTask', 'StartTask'].includes(c))).toEqual(['CreateTask', 'AttachTask', 'StartTask']);
  });
});

describe('run, more', () => {
  it('a command that is not found exits 127 with the reason and --rm still removes the container', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const r = await berth(['run', '--rm', 'busybox', 'no-such-cmd']);
    expect(r.code).toBe(127);
    expect(r.stderr).toBe(
      'berth: cannot create the task of container fake_1: runc create failed: exec: "no-such-cmd": executable file not found in $PATH\n',
    );
    expect(fake.containers.size).toBe(0);
  });

  it('-i sends stdin and its end to the container', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const r = await berth(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'line one\nline two\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('line one\nline two\n');
  });

  it('-i with a stdin that stays open still ends when the container exits', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const r = await berth(['run', '--rm', '-i', 'busybox', 'echo', 'done'], { whenRunning: async () => undefined });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('done\n');
  });

  it('forwards SIGTERM to the container and exits with its code (143)', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const running = fake.running('sleeper');
    const r = await berth(['run', '--rm', '--name', 'sleeper', 'busybox', 'sleep'], {
      whenRunning: async (child) => {
        await running;
        child.kill('SIGTERM');
      },
    });
    expect(r.code, r.stderr).toBe(143);
    expect(fake.calls).toContain('KillTask SIGTERM');
    expect(fake.containers.size).toBe(0);
  });

  it('three Ctrl-C before the container started give up on the run (130), without killing anything', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const r = await berth(['run', '--rm', 'busybox', 'hang-create'], {
      whenRunning: async (child) => {
        while (!fake!.calls.includes('RunContainer')) await new Promise((res) => setTimeout(res, 10));
        await new Promise((res) => setTimeout(res, 50));
        for (let i = 0; i < 3; i++) {
          child.kill('SIGINT');
          await new Promise((res) => setTimeout(res, 20));
        }
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('third interrupt before the container started, giving up');
    expect(fake.calls.filter((c) => c.startsWith('KillTask '))).toEqual([]);
  });

  it('three Ctrl-C kill a container that ignores SIGINT', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const running = fake.running('stubborn');
    const r = await berth(['run', '--name', 'stubborn', 'busybox', 'sleep'], {
      whenRunning: async (child) => {
        await running;
        for (let i = 0; i < 3; i++) {
          child.kill('SIGINT');
          // each signal is handled on its own: wait for its KillTask before the next
          while (fake!.calls.filter((c) => c.startsWith('KillTask ')).length <= i) await new Promise((res) => setTimeout(res, 10));
        }
      },
    });
    expect(fake.calls.filter((c) => c.startsWith('KillTask '))).toEqual(['KillTask SIGINT', 'KillTask SIGINT', 'KillTask SIGKILL']);
    expect(r.code).toBe(137);
    expect(r.stderr).toContain('third interrupt, killing the container');
  });

  it('exec runs a command in a running container with its exit code; a stopped one is refused', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    expect((await berth(['run', '-d', '--name', 'svc', 'busybox', 'sleep'])).code).toBe(0);
    const ok = await berth(['exec', 'svc', 'echo', 'from', 'exec']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('from exec\n');
    const failing = await berth(['exec', 'svc', 'fail', '4']);
    expect(failing.code).toBe(4);
    expect(failing.stderr).toBe('failing\n');
    const piped = await berth(['exec', '-i', 'svc', 'cat'], { input: 'via exec\n' });
    expect(piped.stdout).toBe('via exec\n');
    expect((await berth(['create', '--name', 'idle', 'busybox', 'echo'])).code).toBe(0);
    const refused = await berth(['exec', 'idle', 'echo']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toBe('berth: container idle is not running\n');
    const unknown = await berth(['exec', 'ghost', 'echo']);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toBe('berth: No such container: ghost\n');
  });

  it('stats --no-stream and top', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    expect((await berth(['run', '-d', '--name', 'svc', 'busybox', 'sleep'])).code).toBe(0);
    const stats = await berth(['stats', '--no-stream', '--format', 'json']);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toEqual([
      expect.objectContaining({ Name: 'svc', CPUPerc: '50.00%', MemUsage: '32MiB / 64MiB', MemPerc: '50.00%', PIDs: 2 }),
    ]);
    const table = await berth(['stats', '--no-stream', 'svc']);
    expect(table.stdout).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n[0-9a-f]{12}\s+svc\s+50\.00%\s+32MiB \/ 64MiB\s+50\.00%/);
    const top = await berth(['top', 'svc']);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toBe('UID   PID    PPID   TIME       RSS     CMD\n0     4321   4300   00:01:05   1.5MB   sleep forever\n');
  });

  it('-d prints the id and leaves the container running', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    const r = await berth(['run', '-d', '--name', 'bg', 'busybox', 'sleep']);
    expect(r.code, r.stderr).toBe(0);
    const c = [...fake.containers.values()][0]!;
    expect(r.stdout).toBe(`${c.id}\n`);
    expect(c.name).toBe('bg');
    expect(fake.calls).not.toContain('AttachTask');
  });

  it('--debug prints the trace id of the command\'s calls', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    const r = await berth(['--debug', 'ps']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^berth: trace [0-9a-f]{32}\n$/);
  });

  it('a taken name and an unknown image are clear errors with exit 125', async () => {
    fake = await startFakeStack({ confirmAttach: true });
    fake.images.add(KNOWN_IMAGE);
    expect((await berth(['create', '--name', 'dup', 'busybox', 'echo'])).code).toBe(0);
    const dup = await berth(['create', '--name', 'dup', 'busybox', 'echo']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toBe(
      'berth: the container name "dup" is already in use (name dup is taken); remove that container or choose another --name\n',
    );
    const missing = await berth(['run', 'nope', 'echo']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('berth: image docker.io/library/nope:latest not found: manifest unknown: docker.io/library/nope:latest');
  });
});

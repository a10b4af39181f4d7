// The command tree and the built binary without a stack: usage errors,
// help, completion, version, and what a user sees when berth is not running.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argKind, bashCompletion } from '../src/commands/completion.js';
import { buildProgram, commandWord } from '../src/program/index.js';
import { assertBuilt, BIN } from './built-bin.js';

let runtimeDir: string;

beforeAll(() => {
  assertBuilt();
  runtimeDir = mkdtempSync(join(tmpdir(), 'berth-cli-norun-'));
});
afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));

function berth(...args: string[]) {
  const r = spawnSync(BIN, args, {
    encoding: 'utf8',
    env: { ...process.env, BERTH_RUNTIME_DIR: runtimeDir, BERTH_NATS_PORT: '1', DOCKER_CONFIG: join(runtimeDir, 'docker') },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('building only what a command line reaches', () => {
  const groupSizes = (args?: string[]) => {
    const program = buildProgram(args);
    const size = (name: string) => program.commands.find((c) => c.name() === name)!.commands.length;
    return { container: size('container'), image: size('image') };
  };

  it('finds the command word past global options and their values', () => {
    expect(commandWord(['ps', '-a'])).toBe('ps');
    expect(commandWord(['--debug', '-n', 'team', 'run', '--rm', 'busybox'])).toBe('run');
    expect(commandWord(['--root', '/r', '--runtime-dir', '/x', 'images'])).toBe('images');
    expect(commandWord(['--namespace=team', 'container', 'ls'])).toBe('container');
    expect(commandWord(['--', 'ps'])).toBe('ps');
    expect(commandWord(['--help'])).toBeUndefined();
    expect(commandWord([])).toBeUndefined();
  });

  it('leaves the container and image groups empty for a top-level command, and fills the one named', () => {
    const full = groupSizes();
    expect(full.container).toBeGreaterThan(10);
    expect(full.image).toBeGreaterThan(5);
    expect(groupSizes(['run', '--rm', 'busybox'])).toEqual({ container: 0, image: 0 });
    expect(groupSizes(['-n', 'team', 'ps'])).toEqual({ container: 0, image: 0 });
    expect(groupSizes(['container', 'ls'])).toEqual({ container: full.container, image: 0 });
    expect(groupSizes(['image', 'ls'])).toEqual({ container: 0, image: full.image });
  });

  it('builds the whole tree for help, completion and words it does not know (to suggest the right one)', () => {
    const full = groupSizes();
    for (const args of [['--help'], ['help', 'container'], ['completion', 'bash'], ['contianer', 'ls'], []]) {
      expect(groupSizes(args), args.join(' ')).toEqual(full);
    }
  });
});

describe('command tree', () => {
  const program = buildProgram();
  const all = leaves(program);

  it('has every command of the issue', () => {
    const paths = all.map((l) => l.path.join(' '));
    for (const p of [
      'pull', 'push', 'images', 'image ls', 'rmi', 'tag', 'save', 'load', 'login', 'logout', 'image inspect', 'image prune',
      'run', 'create', 'start', 'stop', 'restart', 'kill', 'rm', 'ps', 'logs', 'exec', 'inspect', 'wait', 'pause', 'unpause',
      'stats', 'top', 'rename', 'container prune', 'container ls', 'container run',
      'network create', 'network ls', 'network inspect', 'network rm', 'network connect', 'network disconnect', 'network prune',
      'system up', 'system down', 'system status', 'system info', 'system df', 'system prune', 'events', 'version',
      'snapshot ls', 'snapshot usage', 'snapshot rm', 'content ls', 'content rm', 'node ls', 'completion',
      'volume create', 'volume ls', 'volume inspect', 'volume rm', 'volume prune',
    ]) {
      expect(paths, p).toContain(p);
    }
  });

  it('every command\'s --help has examples', () => {
    for (const { path, cmd } of all) {
      let text = '';
      cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      cmd.outputHelp();
      expect(text, path.join(' ')).toMatch(/\nExamples:\n  .*berth /);
    }
  });

  it('listings and inspects take --format', () => {
    for (const { path, cmd } of all) {
      const p = path.join(' ');
      if (/(^| )(ls|ps|images|inspect|status|info|df|version|events|stats|top|usage)$/.test(p)) {
        expect(cmd.options.map((o) => o.long), p).toContain('--format');
      }
    }
  });

  it('bash completion: valid syntax, completes subcommands, options and names', () => {
    const script = bashCompletion(program);
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    const complete = (words: string[]) => {
      const r = spawnSync('bash', ['-c', `${script}\nberth() { echo web; echo db; }\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _berth; echo "\${COMPREPLY[*]}"`], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      return r.stdout.trim().split(' ');
    };
    expect(complete(['berth', 'ne'])).toEqual(['network']);
    expect(complete(['berth', 'network', 'c'])).toEqual(['create', 'connect']);
    expect(complete(['berth', 'run', '--pu'])).toEqual(['--publish', '--publish-all', '--pull']);
    expect(complete(['berth', 'stop', ''])).toEqual(['web', 'db']);
    expect(argKind('rmi')).toBe('images');
    expect(argKind('container logs')).toBe('containers');
    expect(argKind('network rm')).toBe('networks');
    expect(argKind('volume inspect')).toBe('volumes');
    expect(argKind('pull')).toBeUndefined();
  });
});

describe('the berth binary without a running stack', () => {
  it('--version', () => {
    const r = berth('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a bad flag value is a clear usage error with exit 125', () => {
    const r = berth('run', '-p', '99999:80', 'busybox');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid port mapping "99999:80": host port 99999 is out of range (1-65535)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(berth('run', '--memory', 'lots', 'busybox').stderr).toContain('invalid size "lots"');
    expect(berth('run', '--pull', 'sometimes', 'busybox').code).toBe(125);
    expect(berth('ps', '--filter', 'colour=red').stderr).toContain('unknown key "colour"');
    expect(berth('frobnicate').code).toBe(125);
  });

  it('says the stack is not running and how to start it, without a stack trace', () => {
    for (const args of [['ps'], ['images'], ['run', '--rm', 'busybox', 'true'], ['network', 'ls'], ['logs', 'x']]) {
      const r = berth(...args);
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr, args.join(' ')).toMatch(/^berth: cannot connect to the berth \w+ service at .* the berth stack is not running; start it with `berth system up`\n$/);
    }
    const events = berth('events');
    expect(events.code).toBe(125);
    expect(events.stderr).toContain("cannot connect to berth's NATS at nats://127.0.0.1:1");
    expect(events.stderr).toContain('berth system up');
  });

  it('--debug adds the details', () => {
    const r = berth('--debug', 'ps');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^berth: cannot connect to the berth tasks service/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a usage mistake is named as such before the missing stack is', () => {
    for (const [args, message] of [
      [['ps', '--filter', 'colour=red'], 'unknown key "colour"'],
      [['ps', '--filter', 'status=sleepy'], 'invalid filter "status=sleepy"'],
      [['run', '--rm', '--restart', 'always', 'busybox'], 'conflicting options: --restart and --rm'],
      [['run', '--platform', 'linux/', 'busybox'], '--platform:'],
      [['logs', '--tail', 'some', 'x'], 'invalid --tail "some"'],
      [['logs', '--since', 'yesterday-ish', 'x'], 'yesterday-ish'],
      [['pull', 'a::b'], 'invalid reference "a::b"'],
      [['tag', 'busybox', 'bad ref'], 'bad ref'],
      [['inspect', '--type', 'volume', 'x'], 'volume'],
      [['save', '--format', 'zip', 'busybox'], 'zip'],
      // --net is Docker's other spelling of --network
      [['run', '--net', 'host', '-p', '80:80', 'busybox'], 'ports cannot be published with --network host'],
    ] as const) {
      const r = berth(...args);
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.stderr, args.join(' ')).not.toContain('stack is not running');
    }
  });

  it('--env-file reaches berth, not Node, when berth runs through its #! line', () => {
    const r = berth('create', '--env-file', '/nonexistent/env', 'busybox');
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr).toBe('berth: cannot read --env-file /nonexistent/env: ENOENT\n');
  });

  it('version answers from state files, with every service shown as not running', () => {
    const r = berth('version', '--format', 'json');
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout) as { client: { version: string }; server: { runtimeDir: string; components: { name: string; running: boolean }[] } };
    expect(v.client.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(v.server.runtimeDir).toBe(runtimeDir);
    expect(v.server.components.map((c) => [c.name, c.running])).toEqual([
      ['images', false],
      ['snapshots', false],
      ['tasks', false],
      ['networking', false],
      ['agent', false],
    ]);
  });

  it('starts from the code cache its build wrote (this Node accepts it)', () => {
    // BERTH_CLI_HOST=0: in Node, here, even with a berth stack (and its CLI host) up on this machine
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { ...process.env, BERTH_CLI_HOST: '0', BERTH_CLI_CODE_CACHE_REPORT: '1' }, timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('berth: code cache accepted\n');
  });

  it('logout without stored credentials says so', () => {
    const r = berth('logout', '127.0.0.1:5999');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Not logged in to 127.0.0.1:5999\n');
  });
});

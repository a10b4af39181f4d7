import { describe, expect, it, onTestFinished } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, baseConfigSchema, envName, flagName, loadConfig, peerAddress, servicePaths } from '../src/config.js';

/** A fresh directory, removed when the test ends. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const schema = baseConfigSchema.extend({ driver: z.enum(['overlayfs', 'native']).default('overlayfs') });

describe('loadConfig', () => {
  it('uses defaults when nothing is given', () => {
    const c = loadConfig('x', schema, { argv: [], env: {} });
    expect(c.root).toBe('/var/lib/berth');
    expect(c.nats.url).toBe('nats://127.0.0.1:4222');
    expect(c.grpc.socketMode).toBe(0o660);
    expect(c.driver).toBe('overlayfs');
    expect(servicePaths('x', c).socket).toBe('/run/berth/x.sock');
    expect(peerAddress('images', c)).toBe('unix:/run/berth/images.sock');
  });

  it('layers file < env < flags', () => {
    const dir = tempDir('berth-cfg-');
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ root: '/from/file', nats: { url: 'nats://file:1' }, log: { level: 'debug' } }));
    const c = loadConfig('x', schema, {
      argv: ['--config', file, '--nats.url=nats://flag:3', '--grpc.drain-timeout-ms', '5'],
      env: { BERTH_NATS_URL: 'nats://env:2', BERTH_ROOT: '/from/env', BERTH_PEERS: 'images=unix:/a.sock,tasks=h:1' },
    });
    expect(c.root).toBe('/from/env');
    expect(c.nats.url).toBe('nats://flag:3');
    expect(c.log.level).toBe('debug');
    expect(c.grpc.drainTimeoutMs).toBe(5);
    expect(c.peers).toEqual({ images: 'unix:/a.sock', tasks: 'h:1' });
    expect(peerAddress('images', c)).toBe('unix:/a.sock');
  });

  it('names env vars and flags predictably', () => {
    expect(envName(['grpc', 'drainTimeoutMs'])).toBe('BERTH_GRPC_DRAIN_TIMEOUT_MS');
    expect(flagName(['grpc', 'drainTimeoutMs'])).toBe('--grpc.drain-timeout-ms');
  });

  it('reports every bad field with where it came from', () => {
    let err: unknown;
    try {
      loadConfig('snapshots', schema, {
        argv: ['--driver', 'zfs'],
        env: { BERTH_METRICS_PORT: 'eighty', BERTH_NODE: 'bad.node', BERTH_LOG_LEVEL: 'loud' },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^invalid snapshots configuration/);
    expect(msg).toMatch(/driver: .*\(from flag --driver\)/);
    expect(msg).toMatch(/metrics\.port: .*number.*\(from env BERTH_METRICS_PORT\)/);
    expect(msg).toMatch(/node: only letters.*\(from env BERTH_NODE\)/);
    expect(msg).toMatch(/log\.level: .*\(from env BERTH_LOG_LEVEL\)/);
  });

  it('refuses unknown flags, missing values and unreadable files', () => {
    expect(() => loadConfig('x', schema, { argv: ['--nope=1'], env: {} })).toThrow(/unknown flag --nope/);
    expect(() => loadConfig('x', schema, { argv: ['--root'], env: {} })).toThrow(/--root: missing value/);
    expect(() => loadConfig('x', schema, { argv: [], env: { BERTH_CONFIG: '/nonexistent/c.json' } })).toThrow(
      /config file \/nonexistent\/c.json: ENOENT/,
    );
  });

  it('reports a bad flag and bad fields together', () => {
    let msg = '';
    try {
      loadConfig('x', schema, { argv: ['--nope=1'], env: { BERTH_NODE: 'bad.node' } });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/unknown flag --nope/);
    expect(msg).toMatch(/node: only letters.*\(from env BERTH_NODE\)/);
  });

  it('refuses unknown keys in a config file', () => {
    const dir = tempDir('berth-cfg-');
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ nats: { uri: 'x' } }));
    expect(() => loadConfig('x', schema, { argv: ['--config', file], env: {} })).toThrow(/nats: Unrecognized key\(s\) in object: 'uri'/);
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authKey, credentialsFor, readDockerConfig, withCredentials, withoutCredentials, writeDockerConfig } from '../src/registry-auth.js';
import { registryHost } from '../src/commands/login.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('docker config.json credentials', () => {
  it('finds credentials by host, with Docker Hub\'s historical key', () => {
    const config = {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:secret') },
        '127.0.0.1:5000': { auth: b64('u:p:with:colons') },
        'http://reg.example.com': { identitytoken: 'tok', username: 'x' },
      },
    };
    expect(credentialsFor(config, 'docker.io')).toEqual({ username: 'hub', password: 'secret', identityToken: '', registryToken: '' });
    expect(credentialsFor(config, '127.0.0.1:5000')?.password).toBe('p:with:colons');
    expect(credentialsFor(config, 'reg.example.com')).toEqual({ username: 'x', password: '', identityToken: 'tok', registryToken: '' });
    expect(credentialsFor(config, 'other:5000')).toBeUndefined();
    expect(() => credentialsFor({ auths: { h: { auth: b64('nocolon') } } }, 'h')).toThrow('damaged');
  });

  it('login replaces, logout removes, other keys survive', () => {
    const start = { auths: { 'http://127.0.0.1:5000/': { auth: b64('old:old') } }, credsStore: 'none' };
    const next = withCredentials(start, '127.0.0.1:5000', { username: 'new', password: 'pw', identityToken: '', registryToken: '' });
    expect(next).toEqual({ auths: { '127.0.0.1:5000': { auth: b64('new:pw') } }, credsStore: 'none' });
    const withToken = withCredentials(next, 'docker.io', { username: 'u', password: 'pw', identityToken: 'refresh', registryToken: '' });
    expect(withToken.auths?.[authKey('docker.io')]).toEqual({ auth: b64('u:'), identitytoken: 'refresh' });
    const out = withoutCredentials(withToken, '127.0.0.1:5000');
    expect(out.removed).toBe(true);
    expect(Object.keys(out.config.auths ?? {})).toEqual(['https://index.docker.io/v1/']);
    expect(withoutCredentials(out.config, 'nowhere').removed).toBe(false);
  });

  it('writes atomically with mode 0600 and reads back; a missing file is empty; bad JSON names the file', () => {
    const path = join(dir, 'sub', 'config.json');
    expect(readDockerConfig(path)).toEqual({});
    writeDockerConfig(path, { auths: { h: { auth: b64('a:b') } } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readDockerConfig(path)).toEqual({ auths: { h: { auth: b64('a:b') } } });
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    writeFileSync(path, '{not json');
    expect(() => readDockerConfig(path)).toThrow(`the credentials file ${path} is not valid JSON`);
  });

  it('registry hosts from login arguments', () => {
    expect(registryHost(undefined)).toBe('docker.io');
    expect(registryHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryHost('http://127.0.0.1:5000/')).toBe('127.0.0.1:5000');
    expect(registryHost('reg.example.com')).toBe('reg.example.com');
  });
});

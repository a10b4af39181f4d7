// NODE_EXTRA_CA_CERTS and the #! line of the built binary: Node does not load
// the file for berth itself, berth puts the variable back for what it starts,
// and its own TLS connection (events, to a NATS server speaking TLS) still
// trusts the CAs in it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type TestNats } from '@berth/testkit';
// not exported by @berth/testkit, whose own registries use it
import { makeTestCertificates, type TestCertificates } from '../../testkit/src/registry/tls.js';
import { restoreExtraCaCerts, untrustedIssuer, withDeferredCaCerts } from '../src/extra-ca-certs.js';
import { assertBuilt, BIN } from './built-bin.js';

describe('restoreExtraCaCerts', () => {
  it('moves BERTH_NODE_EXTRA_CA_CERTS back to NODE_EXTRA_CA_CERTS', () => {
    const env: NodeJS.ProcessEnv = { BERTH_NODE_EXTRA_CA_CERTS: '/etc/ca.pem', PATH: '/bin' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ca.pem', PATH: '/bin' });
  });

  it('drops the empty value the #! line leaves when NODE_EXTRA_CA_CERTS was not set', () => {
    const env: NodeJS.ProcessEnv = { BERTH_NODE_EXTRA_CA_CERTS: '' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({});
  });

  it('leaves an environment alone that the #! line did not touch (`node bundle/berth.js`)', () => {
    const env: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/etc/ca.pem' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
  });
});

describe('withDeferredCaCerts', () => {
  const untrusted = () => Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });

  it('recognises an untrusted issuer in the chain of causes', () => {
    expect(untrustedIssuer(new Error('cannot connect', { cause: untrusted() }))).toBe(true);
    expect(untrustedIssuer(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(untrustedIssuer('UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toBe(false);
  });

  it('connects again with the deferred CA file only after an untrusted issuer', async () => {
    const calls: (string | undefined)[] = [];
    const connect = async (caFile?: string) => {
      calls.push(caFile);
      if (caFile === undefined) throw new Error('cannot connect', { cause: untrusted() });
      return 'connected';
    };
    await expect(withDeferredCaCerts(connect, '/etc/ca.pem')).resolves.toBe('connected');
    expect(calls).toEqual([undefined, '/etc/ca.pem']);
  });

  it('passes other failures on, and every failure when no CA file was deferred', async () => {
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    await expect(withDeferredCaCerts(() => Promise.reject(refused), '/etc/ca.pem')).rejects.toBe(refused);
    const err = untrusted();
    await expect(withDeferredCaCerts(() => Promise.reject(err), undefined)).rejects.toBe(err);
  });
});

describe('the built binary', () => {
  let dir: string;
  let certs: TestCertificates;
  let nats: TestNats;

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'berth-cli-ca-'));
    certs = await makeTestCertificates(dir);
    nats = await startNats({ jetstream: false, extraArgs: ['--tls', '--tlscert', certs.certFile, '--tlskey', certs.keyFile] });
  });
  afterAll(async () => {
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(BIN, args, { encoding: 'utf8', timeout: 30_000, env: { ...withoutExtraCaCerts(process.env), BERTH_RUNTIME_DIR: dir, ...env } });

  it('starts without Node reading NODE_EXTRA_CA_CERTS (which warns about a file it cannot load)', () => {
    const missing = join(dir, 'missing-ca.pem');
    const node = spawnSync(process.execPath, ['-e', ''], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: missing } });
    expect(node.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
    const r = run(['--version'], { NODE_EXTRA_CA_CERTS: missing });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('events reaches a NATS server over TLS whose CA only NODE_EXTRA_CA_CERTS names', () => {
    // --until 0s: connect, subscribe, and end at once
    const trusted = run(['events', '--until', '0s'], { BERTH_NATS_URL: nats.url, NODE_EXTRA_CA_CERTS: certs.caFile });
    expect(trusted.status, trusted.stderr).toBe(0);
    const untrusting = run(['events', '--until', '0s'], { BERTH_NATS_URL: nats.url });
    expect(untrusting.status).toBe(125);
    expect(untrusting.stderr).toContain('unable to verify the first certificate');
  });
});

function withoutExtraCaCerts(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _, BERTH_NODE_EXTRA_CA_CERTS: __, ...rest } = env;
  return rest;
}

// Connecting: token, user/password, nkey, creds file and TLS against real nats-servers;
// wrong credentials and missing files fail with errors that say so.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusConnectError, connectBus, nodeRpcSubject, type Bus } from '../src/index.js';
import { captureLogger, startNats, type TestNats } from './helpers.js';
import { makeJwtAuth } from './creds.js';
import { makeTlsFiles, type TlsFiles } from './tls.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-bus-connect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function connectError(promise: Promise<Bus>): Promise<BusConnectError> {
  try {
    const bus = await promise;
    await bus.close();
  } catch (err) {
    expect(err).toBeInstanceOf(BusConnectError);
    return err as BusConnectError;
  }
  throw new Error('expected the connection to fail');
}

/** A bus that really works: it answers its own request. */
async function roundTrip(bus: Bus): Promise<void> {
  const subject = nodeRpcSubject(bus.node, 'ping');
  const stop = bus.serve(subject, () => 'pong');
  await bus.flush();
  expect(await bus.request(subject, {})).toBe('pong');
  stop();
}

const base = { service: 'tasks', node: 'node-1', jetstream: false };

describe('token auth', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats({ token: 's3cret-token', jetstream: false });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects with the right token', async () => {
    const bus = await connectBus({ ...base, servers: nats.url, token: 's3cret-token', logger: captureLogger().logger });
    await roundTrip(bus);
    await bus.close();
    expect(bus.connection.isClosed()).toBe(true);
  });

  it('fails clearly with a wrong or missing token', async () => {
    for (const token of ['wrong', undefined]) {
      const err = await connectError(
        connectBus({ ...base, servers: nats.url, ...(token ? { token } : {}), logger: captureLogger().logger }),
      );
      expect(err.code).toBe('AUTHORIZATION_VIOLATION');
      expect(err.message).toBe(
        `cannot connect to NATS at ${nats.url} as tasks@node-1: the server refused our credentials ` +
          '(authorization violation): check the token, user/pass, nkey seed or creds file',
      );
    }
  });
});

describe('user/password auth', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats({ user: 'berth', pass: 'pw-123', jetstream: false });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects with the right password and not with a wrong one', async () => {
    const bus = await connectBus({ ...base, servers: nats.url, user: 'berth', pass: 'pw-123', logger: captureLogger().logger });
    await roundTrip(bus);
    await bus.close();
    const err = await connectError(connectBus({ ...base, servers: nats.url, user: 'berth', pass: 'nope' }));
    expect(err.code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('refuses a user without a password before connecting', async () => {
    const err = await connectError(connectBus({ ...base, servers: nats.url, user: 'berth' }));
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.message).toMatch(/user and pass go together/);
  });
});

describe('creds file (decentralised JWT) auth', () => {
  let nats: TestNats;
  const auth = makeJwtAuth();
  beforeAll(async () => {
    const operatorFile = join(dir, 'operator.jwt');
    await writeFile(operatorFile, auth.operatorJwt);
    nats = await startNats({ jetstream: false, config: auth.config(operatorFile) });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects with the creds file of a user of the trusted account, not with a stranger\'s', async () => {
    const credsFile = join(dir, 'user.creds');
    await writeFile(credsFile, auth.userCreds(), { mode: 0o600 });
    const bus = await connectBus({ ...base, servers: nats.url, credsFile, logger: captureLogger().logger });
    await roundTrip(bus);
    await bus.close();

    const strangerFile = join(dir, 'stranger.creds');
    await writeFile(strangerFile, auth.strangerCreds(), { mode: 0o600 });
    const err = await connectError(connectBus({ ...base, servers: nats.url, credsFile: strangerFile }));
    expect(err.code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('names a missing creds file', async () => {
    const missing = join(dir, 'absent.creds');
    const err = await connectError(connectBus({ ...base, servers: nats.url, credsFile: missing }));
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.message).toMatch(new RegExp(`credsFile ${missing} cannot be read: ENOENT`));
  });
});

describe('nkey auth', () => {
  let nats: TestNats;
  const user = nkeys.createUser();
  beforeAll(async () => {
    const publicKey = user.getPublicKey();
    nats = await startNats({ jetstream: false, config: `authorization { users = [ { nkey: ${publicKey} } ] }\n` });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects with the seed file of an authorised nkey and not with another', async () => {
    const seedFile = join(dir, 'user.nk');
    await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    const bus = await connectBus({ ...base, servers: nats.url, nkeySeedFile: seedFile, logger: captureLogger().logger });
    await roundTrip(bus);
    await bus.close();

    const strangerFile = join(dir, 'stranger.nk');
    await writeFile(strangerFile, new TextDecoder().decode(nkeys.createUser().getSeed()));
    const err = await connectError(connectBus({ ...base, servers: nats.url, nkeySeedFile: strangerFile }));
    expect(err.code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('names a missing or malformed seed file', async () => {
    const missing = join(dir, 'absent.nk');
    const err = await connectError(connectBus({ ...base, servers: nats.url, nkeySeedFile: missing }));
    expect(err.code).toBe('INVALID_OPTION');
    expect(err.message).toMatch(new RegExp(`nkeySeedFile ${missing} cannot be read: ENOENT`));
    const junk = join(dir, 'junk.nk');
    await writeFile(junk, 'hello');
    expect((await connectError(connectBus({ ...base, servers: nats.url, nkeySeedFile: junk }))).message).toMatch(
      /does not hold an NKEY seed/,
    );
  });
});

describe('TLS', () => {
  let nats: TestNats;
  let tls: TlsFiles;
  beforeAll(async () => {
    tls = await makeTlsFiles(join(dir, 'tls'));
    nats = await startNats({ jetstream: false, extraArgs: ['--tls', '--tlscert', tls.serverCert, '--tlskey', tls.serverKey] });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects over TLS trusting the given CA', async () => {
    const bus = await connectBus({ ...base, servers: nats.url, tls: { caFile: tls.caCert }, logger: captureLogger().logger });
    await roundTrip(bus);
    await bus.close();
  });

  it('fails when the server certificate is not trusted', async () => {
    const err = await connectError(connectBus({ ...base, servers: nats.url, tls: { caFile: tls.otherCaCert } }));
    expect(err.message).toMatch(new RegExp(`cannot connect to NATS at ${nats.url} as tasks@node-1: `));
  });

  it('names a missing TLS file', async () => {
    const err = await connectError(connectBus({ ...base, servers: nats.url, tls: { caFile: join(dir, 'nope.pem') } }));
    expect(err.message).toMatch(/tls.caFile .*nope.pem cannot be read: ENOENT/);
  });
});

describe('mutual TLS', () => {
  let nats: TestNats;
  let tls: TlsFiles;
  beforeAll(async () => {
    tls = await makeTlsFiles(join(dir, 'mtls'));
    nats = await startNats({
      jetstream: false,
      extraArgs: ['--tlsverify', '--tlscert', tls.serverCert, '--tlskey', tls.serverKey, '--tlscacert', tls.caCert],
    });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects with a client certificate and not without one', async () => {
    const bus = await connectBus({
      ...base,
      servers: nats.url,
      tls: { caFile: tls.caCert, certFile: tls.clientCert, keyFile: tls.clientKey },
      logger: captureLogger().logger,
    });
    await roundTrip(bus);
    await bus.close();
    // the server drops a client without a certificate after the TLS handshake; the client only sees a timeout
    const err = await connectError(
      connectBus({ ...base, servers: nats.url, tls: { caFile: tls.caCert }, connectTimeoutMs: 1500 }),
    );
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe(
      `cannot connect to NATS at ${nats.url} as tasks@node-1: timed out while connecting ` +
        '(if the server requires client certificates, set tls.certFile and tls.keyFile)',
    );
  });

  it('refuses a certificate without its key before connecting', async () => {
    const err = await connectError(connectBus({ ...base, servers: nats.url, tls: { certFile: tls.clientCert } }));
    expect(err.message).toMatch(/tls.certFile and tls.keyFile go together/);
  });
});

describe('no server', () => {
  it('fails at once with connection refused', async () => {
    const nats = await startNats({ jetstream: false });
    const url = nats.url;
    await nats.stop();
    const err = await connectError(connectBus({ ...base, servers: url }));
    expect(err.code).toBe('CONNECTION_REFUSED');
    expect(err.message).toMatch(/connection refused: is nats-server running and listening there\?/);
  });

  it('rejects service and node names that cannot be subject tokens', async () => {
    await expect(connectBus({ ...base, servers: 'nats://127.0.0.1:1', node: 'host.example.com' })).rejects.toThrow(
      /node id "host.example.com" contains '.'/,
    );
  });
});

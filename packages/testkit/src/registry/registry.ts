// A throwaway OCI registry: Debian's docker-registry (distribution 2.8) on
// 127.0.0.1 with filesystem storage in a fresh temp dir, anonymous, with
// htpasswd basic auth, or with bearer tokens from our own token server; over
// plain HTTP, or HTTPS with a certificate from a throwaway CA.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../mounts.js';
import { freePort } from '../ports.js';
import { requireBinary, run, startDaemon, type Daemon } from '../process.js';
import { libtrustKeyId } from './jwt.js';
import { makeTestCertificates, type TestCertificates } from './tls.js';
import { startTokenServer, type TokenServer } from './token-server.js';

export type RegistryAuthMode = 'none' | 'basic' | 'token';

export interface RegistryOptions {
  /** Default 'none'. */
  auth?: RegistryAuthMode;
  /** Token lifetime in seconds (auth 'token'); default 300. */
  tokenExpiresIn?: number;
  /** Serve HTTPS with a certificate for 127.0.0.1 signed by a throwaway CA (TestRegistry.tls); default plain HTTP. */
  tls?: boolean;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface TokenAuthInfo {
  /** The token endpoint the registry names in its WWW-Authenticate challenge. */
  realm: string;
  service: string;
  issuer: string;
  /** Tokens the token server has issued so far. */
  issuedCount(): number;
  /** Every access and refresh token issued so far (to check that a client never logs them). */
  issuedSecrets(): string[];
}

export interface TestRegistry {
  /** '127.0.0.1:PORT' (what goes into image references). */
  host: string;
  /** 'http://127.0.0.1:PORT', or 'https://127.0.0.1:PORT' with tls. */
  url: string;
  authMode: RegistryAuthMode;
  /** The one valid user (basic and token modes); undefined when anonymous. */
  auth: RegistryCredentials | undefined;
  /** Token server details (token mode only). */
  token: TokenAuthInfo | undefined;
  /** With tls: the CA that signed the registry's certificate (PEM, and a file holding it); a client must trust it. */
  tls: { caFile: string; caPem: string } | undefined;
  /** Registry storage root. */
  dataDir: string;
  /** Registry log (stdout+stderr), for debugging failed tests. */
  logFile: string;
  /** Stops the registry (and token server) and removes every temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export const REGISTRY_TOKEN_SERVICE = 'berth-test-registry';
export const REGISTRY_TOKEN_ISSUER = 'berth-testkit';

function registryConfig(opts: {
  port: number;
  dataDir: string;
  auth?: Record<string, unknown>;
  certs?: TestCertificates;
}): string {
  // YAML is a superset of JSON: the registry reads this as is
  return JSON.stringify(
    {
      version: 0.1,
      log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
      storage: {
        filesystem: { rootdirectory: opts.dataDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: `127.0.0.1:${opts.port}`,
        secret: randomBytes(16).toString('hex'),
        ...(opts.certs ? { tls: { certificate: opts.certs.certFile, key: opts.certs.keyFile } } : {}),
      },
      ...(opts.auth ? { auth: opts.auth } : {}),
    },
    null,
    2,
  );
}

/** The status of GET url (trusting `ca` for HTTPS), or the error. */
function probe(url: string, ca: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { timeout: 2000, ...(ca !== undefined ? { ca } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within 2 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitForRegistry(url: string, ca: string | undefined, daemon: Daemon, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let exited: string | undefined;
  void daemon.exited.then((how) => (exited = how));
  let lastError = '';
  while (Date.now() < until) {
    if (exited !== undefined) throw new Error(`docker-registry ${exited} before answering:\n${daemon.logTail()}`);
    try {
      const status = await probe(`${url}/v2/`, ca);
      if (status === 200 || status === 401) return;
      lastError = `GET /v2/ answered ${status}`;
    } catch (err) {
      lastError = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry at ${url} was not ready after ${deadlineMs} ms (${lastError}):\n${daemon.logTail()}`);
}

async function authSetup(
  mode: RegistryAuthMode,
  dir: string,
  opts: RegistryOptions,
): Promise<{ auth?: Record<string, unknown>; creds?: RegistryCredentials; tokenServer?: TokenServer }> {
  if (mode === 'none') return {};
  const creds = { username: 'berth', password: randomBytes(12).toString('hex') };
  if (mode === 'basic') {
    const htpasswd = requireBinary('htpasswd', 'apt-get install apache2-utils');
    const line = (await run(htpasswd, ['-Bbn', creds.username, creds.password])).stdout.toString().trim();
    const path = join(dir, 'htpasswd');
    await writeFile(path, `${line}\n`, { mode: 0o600 });
    return { creds, auth: { htpasswd: { realm: 'berth-test-registry', path } } };
  }
  const openssl = requireBinary('openssl');
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await run(openssl, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
    '-subj', '/CN=berth-testkit-token-issuer', '-keyout', keyPath, '-out', certPath,
  ]);
  const privateKeyPem = await readFile(keyPath, 'utf8');
  const tokenServer = await startTokenServer({
    ...creds,
    service: REGISTRY_TOKEN_SERVICE,
    issuer: REGISTRY_TOKEN_ISSUER,
    privateKeyPem,
    keyId: libtrustKeyId(privateKeyPem),
    ...(opts.tokenExpiresIn !== undefined ? { expiresIn: opts.tokenExpiresIn } : {}),
  });
  return {
    creds,
    tokenServer,
    auth: {
      token: {
        realm: tokenServer.realm,
        service: REGISTRY_TOKEN_SERVICE,
        issuer: REGISTRY_TOKEN_ISSUER,
        rootcertbundle: certPath,
      },
    },
  };
}

const PORT_ATTEMPTS = 3;

/** Starts a registry and waits until GET /v2/ answers; fails naming docker-registry if it is not installed. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const mode = opts.auth ?? 'none';
  const binary = requireBinary('docker-registry', 'apt-get install docker-registry');
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'registry.log');
  let tokenServer: TokenServer | undefined;
  let daemon: Daemon | undefined;
  const stop = async (): Promise<void> => {
    await daemon?.stop();
    await tokenServer?.stop();
    daemon = undefined;
    tokenServer = undefined;
    await removeTree(dir);
  };
  try {
    const setup = await authSetup(mode, dir, opts);
    tokenServer = setup.tokenServer;
    const certs = opts.tls ? await makeTestCertificates(dir) : undefined;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configPath = join(dir, 'config.yml');
      await writeFile(configPath, registryConfig({ port, dataDir, ...(setup.auth ? { auth: setup.auth } : {}), ...(certs ? { certs } : {}) }));
      // a clean environment: REGISTRY_* variables would override the config
      daemon = startDaemon(binary, ['serve', configPath], logFile, { PATH: process.env.PATH ?? '/usr/bin:/bin' });
      const url = `${certs ? 'https' : 'http'}://127.0.0.1:${port}`;
      try {
        await waitForRegistry(url, certs?.caPem, daemon, 30_000);
      } catch (err) {
        await daemon.stop();
        const lostPortRace = /address already in use/.test(daemon.logTail());
        if (lostPortRace && attempt < PORT_ATTEMPTS) continue;
        throw err;
      }
      const ts = tokenServer;
      return {
        host: `127.0.0.1:${port}`,
        url,
        authMode: mode,
        auth: setup.creds,
        token: ts
          ? {
              realm: ts.realm,
              service: REGISTRY_TOKEN_SERVICE,
              issuer: REGISTRY_TOKEN_ISSUER,
              issuedCount: () => ts.issuedCount(),
              issuedSecrets: () => ts.issuedSecrets(),
            }
          : undefined,
        tls: certs ? { caFile: certs.caFile, caPem: certs.caPem } : undefined,
        dataDir,
        logFile,
        stop,
      };
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

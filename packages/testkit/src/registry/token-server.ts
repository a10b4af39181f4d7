// A Docker token server (the "bearer-token" auth a registry delegates to):
// GET /token?service=&scope=... with Basic credentials, or POST /token with
// an OAuth2 password / refresh_token grant, answers a JWT the registry
// trusts. Authenticated users get every action they ask for.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signJwtRs256 } from './jwt.js';

export interface TokenServerOptions {
  username: string;
  password: string;
  service: string;
  issuer: string;
  privateKeyPem: string;
  /** The kid the registry looks the verifying key up by. */
  keyId: string;
  /** Token lifetime in seconds; default 300. */
  expiresIn?: number;
}

export interface TokenServer {
  /** http://127.0.0.1:PORT/token */
  realm: string;
  port: number;
  /** Tokens issued so far (to test client-side token caching). */
  issuedCount(): number;
  /** Every access and refresh token handed out so far (to check that a client never logs them). */
  issuedSecrets(): string[];
  stop(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** 'repository:library/busybox:pull,push' → { type, name, actions } (names may hold ':' — actions follow the last one). */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  const type = scope.slice(0, first).replace(/\(.*\)$/, '');
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  return type && name ? { type, name, actions } : undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function unauthorized(res: ServerResponse, message: string): void {
  sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message }] }, { 'www-authenticate': 'Basic realm="berth-test-token"' });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw new Error('request body over 64 KiB');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const expiresIn = opts.expiresIn ?? 300;
  const refreshTokens = new Map<string, string>();
  const secrets: string[] = [];
  let issued = 0;

  const issue = (subject: string, scopes: string[]): { token: string; issuedAt: string } => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map(parseScope).filter((a): a is Access => a !== undefined);
    const token = signJwtRs256(
      { kid: opts.keyId },
      {
        iss: opts.issuer,
        sub: subject,
        aud: opts.service,
        exp: now + expiresIn,
        nbf: now - 1,
        iat: now,
        jti: randomBytes(12).toString('hex'),
        access,
      },
      opts.privateKeyPem,
    );
    issued++;
    secrets.push(token);
    return { token, issuedAt: new Date(now * 1000).toISOString() };
  };

  const checkPassword = (username: string, password: string): boolean =>
    sameSecret(username, opts.username) && sameSecret(password, opts.password);

  const handleGet = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const auth = req.headers.authorization ?? '';
    const m = /^Basic\s+(.+)$/i.exec(auth);
    if (!m?.[1]) return unauthorized(res, 'credentials required');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || !checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1))) {
      return unauthorized(res, 'invalid username or password');
    }
    const service = url.searchParams.get('service');
    if (service !== null && service !== opts.service) {
      return sendJson(res, 400, { errors: [{ code: 'INVALID_REQUEST', message: `unknown service ${JSON.stringify(service)}` }] });
    }
    const { token, issuedAt } = issue(opts.username, url.searchParams.getAll('scope'));
    const body: Record<string, unknown> = { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt };
    if (url.searchParams.get('offline_token') === 'true') {
      const refresh = randomBytes(24).toString('hex');
      refreshTokens.set(refresh, opts.username);
      secrets.push(refresh);
      body.refresh_token = refresh;
    }
    sendJson(res, 200, body);
  };

  const handlePost = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = new URLSearchParams(await readBody(req));
    const service = form.get('service');
    if (service !== null && service !== opts.service) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: `unknown service ${JSON.stringify(service)}` });
    }
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const grant = form.get('grant_type');
    let subject: string | undefined;
    if (grant === 'password') {
      if (checkPassword(form.get('username') ?? '', form.get('password') ?? '')) subject = opts.username;
    } else if (grant === 'refresh_token') {
      subject = refreshTokens.get(form.get('refresh_token') ?? '');
    } else {
      return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: `grant_type ${JSON.stringify(grant)}` });
    }
    if (subject === undefined) {
      return sendJson(res, 401, { error: 'invalid_grant', error_description: 'invalid credentials' });
    }
    const { token, issuedAt } = issue(subject, scopes);
    const body: Record<string, unknown> = { access_token: token, expires_in: expiresIn, issued_at: issuedAt, scope: scopes.join(' ') };
    if (form.get('access_type') === 'offline') {
      const refresh = randomBytes(24).toString('hex');
      refreshTokens.set(refresh, subject);
      secrets.push(refresh);
      body.refresh_token = refresh;
    }
    sendJson(res, 200, body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: url.pathname }] });
    if (req.method === 'GET') return handleGet(req, res, url);
    if (req.method === 'POST') {
      handlePost(req, res).catch((err: unknown) =>
        sendJson(res, 400, { error: 'invalid_request', error_description: String(err) }),
      );
      return;
    }
    sendJson(res, 405, { errors: [{ code: 'UNSUPPORTED', message: `method ${req.method}` }] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    port,
    issuedCount: () => issued,
    issuedSecrets: () => [...secrets],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

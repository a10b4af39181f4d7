// Checking credentials against a registry, as `docker login` does: GET /v2/,
// answer its challenge (Basic, or a bearer token from the realm, asking for an
// offline/refresh token so it can be stored instead of the password), and
// GET /v2/ again with the result. Secrets never appear in messages.
import { registryHost } from '@berth/oci';
import { invalidArgument } from '../errors.js';
import { parseWwwAuthenticate, type Challenge } from './auth.js';
import type { Credentials } from './docker-config.js';
import { RegistryError, redactUrl } from './errors.js';
import { drain, errorSummary, headerValue, readBody, sendHttp, type Agents, type HttpResponse, type Timeouts } from './http.js';
import { withRetry, type RetryPolicy } from './retry.js';

export interface LoginTransport {
  agents: Agents;
  timeouts: Timeouts;
  retry: RetryPolicy;
  userAgent: string;
  scheme: 'http' | 'https';
}

export interface LoginResult {
  /** Refresh token the registry's token service issued for these credentials, to store instead of the password. */
  identityToken?: string;
}

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/;

/** "127.0.0.1:5000", "docker.io", or Docker's "https://index.docker.io/v1/" as a registry domain. */
export function normalizeRegistryHost(input: string): string {
  let host = input.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    try {
      host = new URL(host).host;
    } catch {
      throw invalidArgument(`registry ${JSON.stringify(input)} is not a host[:port] or URL`);
    }
  }
  host = host.replace(/\/+$/, '');
  if (!HOST.test(host)) throw invalidArgument(`registry ${JSON.stringify(input)} is not a host[:port]`);
  return ['index.docker.io', 'registry-1.docker.io'].includes(host) ? 'docker.io' : host;
}

/** Resolves when `registry` accepts `creds`; UNAUTHENTICATED when it refuses them. */
export async function verifyLogin(
  t: LoginTransport,
  domain: string,
  creds: Credentials,
  signal?: AbortSignal,
): Promise<LoginResult> {
  const host = registryHost(domain);
  const ping = new URL(`${t.scheme}://${host}/v2/`);
  return withRetry(t.retry, signal, async () => {
    const first = await get(t, ping, {}, signal);
    if (first.status === 200) {
      drain(first);
      return {}; // an open registry accepts everyone, as `docker login` reports
    }
    if (first.status !== 401) throw await failure(first, `registry ${host}`);
    drain(first);
    const challenges = parseWwwAuthenticate(headerValue(first.headers, 'www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      const { token, refreshToken } = await bearerToken(t, host, bearer, creds, signal);
      await expectAccepted(t, ping, `Bearer ${token}`, host, signal);
      return refreshToken ? { identityToken: refreshToken } : {};
    }
    if (basic) {
      if (!creds.username || creds.password === undefined) {
        throw new RegistryError('UNAUTHENTICATED', `registry ${host} wants a username and password (Basic auth)`, false, { status: 401 });
      }
      await expectAccepted(t, ping, basicAuthorization(creds.username, creds.password), host, signal);
      return {};
    }
    throw new RegistryError('UNAUTHENTICATED', `registry ${host} answered 401 without a Basic or Bearer challenge`, false, { status: 401 });
  });
}

async function expectAccepted(t: LoginTransport, url: URL, authorization: string, host: string, signal?: AbortSignal): Promise<void> {
  const res = await get(t, url, { authorization }, signal);
  if (res.status === 200) {
    drain(res);
    return;
  }
  if (res.status === 401 || res.status === 403) {
    drain(res);
    throw new RegistryError('UNAUTHENTICATED', `registry ${host} refused the credentials (HTTP ${res.status})`, false, {
      status: res.status,
    });
  }
  throw await failure(res, `registry ${host}`);
}

/** A bearer token for the login (no scope), with a refresh token when the token service hands one out. */
async function bearerToken(
  t: LoginTransport,
  host: string,
  challenge: Challenge,
  creds: Credentials,
  signal?: AbortSignal,
): Promise<{ token: string; refreshToken?: string }> {
  if (creds.registryToken) return { token: creds.registryToken };
  const realmText = challenge.params.realm;
  let realm: URL;
  try {
    realm = new URL(realmText ?? '');
  } catch {
    throw new RegistryError('UNAUTHENTICATED', `registry ${host} sent a bearer challenge without a valid realm URL`, false);
  }
  const service = challenge.params.service;
  const what = `token for ${host} from ${redactUrl(realm)}`;
  let res: HttpResponse;
  if (creds.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth' });
    if (service) form.set('service', service);
    const body = Buffer.from(form.toString());
    res = await sendHttp(
      t.agents,
      {
        method: 'POST',
        url: realm,
        headers: {
          'user-agent': t.userAgent,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(body.byteLength),
        },
        body,
        ...(signal ? { signal } : {}),
      },
      t.timeouts,
    );
  } else {
    if (!creds.username || creds.password === undefined) {
      throw invalidArgument(`login to ${host}: a username and password, an identity token or a registry token is needed`);
    }
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('offline_token', 'true');
    url.searchParams.set('client_id', 'berth');
    res = await get(t, url, { authorization: basicAuthorization(creds.username, creds.password), accept: 'application/json' }, signal);
  }
  if (res.status === 401 || res.status === 403) {
    drain(res);
    throw new RegistryError('UNAUTHENTICATED', `${what}: the token service refused the credentials (HTTP ${res.status})`, false, {
      status: res.status,
    });
  }
  if (res.status !== 200) throw await failure(res, what);
  let parsed: { token?: unknown; access_token?: unknown; refresh_token?: unknown };
  try {
    parsed = JSON.parse((await readBody(res, 1024 * 1024, what)).toString('utf8')) as typeof parsed;
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('UNAUTHENTICATED', `${what}: the answer is not JSON`, false);
  }
  const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
  if (typeof token !== 'string' || token === '') throw new RegistryError('UNAUTHENTICATED', `${what}: the answer has no token`, false);
  const refresh = typeof parsed.refresh_token === 'string' && parsed.refresh_token ? parsed.refresh_token : undefined;
  return { token, ...(refresh ? { refreshToken: refresh } : {}) };
}

function get(t: LoginTransport, url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
  return sendHttp(t.agents, { method: 'GET', url, headers: { 'user-agent': t.userAgent, ...headers }, ...(signal ? { signal } : {}) }, t.timeouts);
}

function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

async function failure(res: HttpResponse, what: string): Promise<RegistryError> {
  const summary = await errorSummary(res);
  const where = `${what}: HTTP ${res.status} from ${redactUrl(res.url)}${summary ? `: ${summary}` : ''}`;
  if (res.status === 404) return new RegistryError('NOT_FOUND', `${where} (not an OCI registry?)`, false, { status: 404 });
  if (res.status === 429) return new RegistryError('RESOURCE_EXHAUSTED', `${where} (rate limited)`, true, { status: 429 });
  if (res.status >= 500) return new RegistryError('UNAVAILABLE', where, true, { status: res.status });
  return new RegistryError('FAILED_PRECONDITION', where, false, { status: res.status });
}

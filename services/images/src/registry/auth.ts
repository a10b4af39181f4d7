// Registry authentication: WWW-Authenticate challenges, Basic, and the Docker
// token flow (realm/service/scope -> bearer token, cached until it expires).
// Secrets are only ever placed in Authorization headers, never in messages.
import type { Credentials } from './docker-config.js';
import { RegistryError } from './errors.js';

export interface Challenge {
  scheme: string; // lowercased: "basic", "bearer"
  params: Record<string, string>; // keys lowercased
}

/** Parses a WWW-Authenticate value (one or several challenges) per RFC 7235. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (re: RegExp) => {
    while (i < n && re.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/\s/);
      const save = i;
      const key = token();
      skip(/\s/);
      if (!key || header[i] !== '=') {
        i = save; // a new challenge's scheme (or a token68 we do not use)
        if (!key) i++;
        break;
      }
      i++; // '='
      skip(/\s/);
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      challenge.params[key.toLowerCase()] = value;
      skip(/\s/);
      if (header[i] === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  return out;
}

export interface TokenRequest {
  realm: URL;
  service?: string;
  scopes: string[];
  credentials?: Credentials;
}

export interface TokenResponse {
  token: string;
  /** Seconds; the spec's default is 60. */
  expiresIn?: number;
  issuedAt?: string;
}

export type TokenFetcher = (req: TokenRequest) => Promise<TokenResponse>;

type HostAuth = { scheme: 'basic' } | { scheme: 'bearer'; realm: URL; service?: string; extraScopes: string[] };

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Remembers how each registry host wants to be authenticated and caches bearer tokens. */
export class Authorizer {
  private readonly hosts = new Map<string, HostAuth>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly credentials: (host: string) => Credentials | undefined,
    private readonly fetchToken: TokenFetcher,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Authorization header for a request to `host` needing `scopes`, or undefined (anonymous). */
  async authorization(host: string, scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const auth = this.hosts.get(host);
    if (!auth) return undefined;
    const creds = this.credentials(host);
    if (auth.scheme === 'basic') {
      if (!creds?.username || creds.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const allScopes = [...new Set([...scopes, ...auth.extraScopes])].sort();
    const key = tokenKey(auth.realm, auth.service, allScopes, creds);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.requestToken(key, { realm: auth.realm, ...(auth.service !== undefined ? { service: auth.service } : {}), scopes: allScopes, ...(creds ? { credentials: creds } : {}) });
      this.inflight.set(key, pending);
      pending.then(
        () => this.inflight.delete(key),
        () => this.inflight.delete(key),
      );
    }
    signal?.throwIfAborted();
    try {
      return `Bearer ${await pending}`;
    } catch (err) {
      throw withLoginHint(err, host, creds !== undefined);
    }
  }

  /**
   * Learns from a 401's challenges. Returns true when a retry can succeed
   * (new scheme, new scope, or a cached token to drop); false when the same
   * authorization would only be refused again.
   */
  onChallenge(host: string, header: string | undefined, sentAuthorization: string | undefined): boolean {
    const challenges = header ? parseWwwAuthenticate(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      const realmText = bearer.params.realm;
      if (!realmText) return false;
      let realm: URL;
      try {
        realm = new URL(realmText);
      } catch {
        throw new RegistryError('UNAUTHENTICATED', `registry ${host} sent a bearer challenge with an invalid realm URL`, false);
      }
      const scope = bearer.params.scope;
      const previous = this.hosts.get(host);
      const extraScopes = previous?.scheme === 'bearer' ? [...previous.extraScopes] : [];
      let learned = previous?.scheme !== 'bearer' || previous.realm.href !== realm.href;
      if (scope && !extraScopes.includes(scope)) {
        extraScopes.push(scope);
        learned = true;
      }
      this.hosts.set(host, { scheme: 'bearer', realm, ...(bearer.params.service !== undefined ? { service: bearer.params.service } : {}), extraScopes });
      if (sentAuthorization?.startsWith('Bearer ')) {
        // The token was refused (revoked, expired early): drop it so the retry fetches a new one, once.
        const token = sentAuthorization.slice(7);
        let dropped = false;
        for (const [k, v] of this.tokens) {
          if (v.token === token) {
            this.tokens.delete(k);
            dropped = true;
          }
        }
        return learned || dropped;
      }
      return true;
    }
    if (basic) {
      const hadBasic = this.hosts.get(host)?.scheme === 'basic';
      this.hosts.set(host, { scheme: 'basic' });
      const creds = this.credentials(host);
      if (!creds?.username || creds.password === undefined) return false;
      return !(hadBasic && sentAuthorization?.startsWith('Basic '));
    }
    return false;
  }

  /** True when credentials are configured for `host`. */
  hasCredentials(host: string): boolean {
    return this.credentials(host) !== undefined;
  }

  private async requestToken(key: string, req: TokenRequest): Promise<string> {
    const res = await this.fetchToken(req);
    const lifetimeMs = Math.max(1, res.expiresIn ?? 60) * 1000;
    const issued = res.issuedAt ? Date.parse(res.issuedAt) : NaN;
    const start = Number.isNaN(issued) ? this.now() : Math.min(issued, this.now());
    // Renew a little early so a token does not expire between header and request.
    this.tokens.set(key, { token: res.token, expiresAt: start + lifetimeMs - Math.min(10_000, lifetimeMs / 10) });
    return res.token;
  }
}

/** A refused token request says which registry it was for and what to do about it. */
function withLoginHint(err: unknown, host: string, hadCredentials: boolean): unknown {
  if (!(err instanceof RegistryError) || err.code !== 'UNAUTHENTICATED') return err;
  const hint = hadCredentials
    ? `the credentials configured for ${host} were refused; log in again with berth login ${host}`
    : `${host} requires authentication; log in with berth login ${host}`;
  return new RegistryError('UNAUTHENTICATED', `${err.message}: ${hint}`, false, { ...err.details, cause: err });
}

function tokenKey(realm: URL, service: string | undefined, scopes: string[], creds: Credentials | undefined): string {
  const who = creds?.identityToken ? `id:${creds.username ?? ''}` : creds?.username ? `user:${creds.username}` : 'anonymous';
  return `${realm.href}|${service ?? ''}|${scopes.join(' ')}|${who}`;
}

/** The scope string for repository access, e.g. repository:library/busybox:pull,push. */
export function repositoryScope(repository: string, actions: ('pull' | 'push')[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

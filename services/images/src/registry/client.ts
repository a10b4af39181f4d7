// A client for the OCI distribution API: resolve references, fetch manifests
// and blobs (verified, resumable, retried), push blobs and manifests. One
// instance per service; it keeps connections alive and caches tokens.
import { Readable } from 'node:stream';
import {
  MANIFEST_ACCEPT_TYPES,
  MAX_MANIFEST_BYTES,
  digestOf,
  parseDigest,
  parseManifestOrIndex,
  parseReference,
  registryHost,
  type Descriptor,
  type Digest,
  type ImageReference,
  type ManifestOrIndex,
} from '@berth/oci';
import { ImagesError, invalidArgument, messageOf, statusCodeOf } from '../errors.js';
import type { ContentStore } from '../content/store.js';
import type { ContentInfo } from '../content/types.js';
import type { Labels } from '../labels.js';
import { Authorizer, repositoryScope, type TokenRequest, type TokenResponse } from './auth.js';
import type { Credentials } from './docker-config.js';
import { RegistryError, networkError, redactUrl } from './errors.js';
import { schemeFor, type RegistryHostOptions } from './hosts.js';
import {
  Agents,
  DEFAULT_TIMEOUTS,
  drain,
  errorSummary,
  headerValue,
  readBody,
  sendHttp,
  type HttpResponse,
  type Timeouts,
} from './http.js';
import { verifyLogin, type LoginResult } from './login.js';
import { DEFAULT_RETRY, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';

export interface RegistryClientOptions {
  /** Credentials per registry host (e.g. dockerConfigCredentials(path)); default: anonymous. */
  credentials?: (host: string) => Credentials | undefined;
  /** Registry hosts (host[:port]) spoken to over plain HTTP; localhost/127.0.0.0/8/::1 always are. */
  insecureRegistries?: string[];
  /** Plain HTTP for every registry. */
  plainHttp?: boolean;
  /**
   * Settings per registry (host[:port] as references name it): extra CAs,
   * no verification, or the scheme (e.g. HTTPS for a TLS registry on 127.0.0.1).
   */
  hosts?: Record<string, RegistryHostOptions>;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  /** Largest manifest/index accepted (default 4 MiB). */
  maxManifestBytes?: number;
  userAgent?: string;
}

/** A tag or digest resolved to the document it names. */
export interface ResolvedManifest {
  ref: ImageReference;
  /** Descriptor of the document: media type, digest of the exact bytes, size. */
  descriptor: Descriptor;
  bytes: Buffer;
  document: ManifestOrIndex;
}

export interface FetchBlobOptions {
  signal?: AbortSignal;
  /** Called as bytes arrive (including bytes already in a resumed ingest). */
  onProgress?: (current: number, total: number) => void;
  /** Labels for the content record. */
  labels?: Labels;
}

export interface PushBlobOptions {
  signal?: AbortSignal;
  /** Repositories on the same registry that may already hold the blob (tried as cross-repository mounts). */
  mountFrom?: string[];
  /** Upload in PATCH chunks of this many bytes; default: one monolithic PUT. */
  chunkSize?: number;
}

export type PushBlobResult = 'exists' | 'mounted' | 'uploaded';

interface RequestSpec {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: () => Buffer | Readable;
  scopes: string[];
  what: string;
  signal?: AbortSignal | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export class RegistryClient {
  private readonly agents: Agents;
  private readonly authorizer: Authorizer;
  private readonly timeouts: Timeouts;
  private readonly retry: RetryPolicy;
  private readonly maxManifestBytes: number;
  private readonly userAgent: string;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.agents = new Agents(options.hosts ? { hosts: options.hosts } : {});
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.maxManifestBytes = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    this.userAgent = options.userAgent ?? 'berth/0.1';
    const credentials = options.credentials ?? (() => undefined);
    this.authorizer = new Authorizer(credentials, (req) => this.fetchToken(req));
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agents.destroy();
  }

  /**
   * Checks `creds` against registry `domain` the way `docker login` does
   * (nothing is stored); UNAUTHENTICATED when the registry refuses them.
   */
  verifyCredentials(domain: string, creds: Credentials, opts: { signal?: AbortSignal } = {}): Promise<LoginResult> {
    return verifyLogin(
      { agents: this.agents, timeouts: this.timeouts, retry: this.retry, userAgent: this.userAgent, scheme: this.schemeFor(domain) },
      domain,
      creds,
      opts.signal,
    );
  }

  /** "http" or "https" for a registry domain. */
  schemeFor(domain: string): 'http' | 'https' {
    return schemeFor(domain, this.options);
  }

  /**
   * Resolves a reference (tag or digest) to its manifest or index, verifying
   * the bytes against the digest asked for and the registry's
   * Docker-Content-Digest header, and parsing them (size-bounded).
   */
  async resolve(input: string | ImageReference, opts: { signal?: AbortSignal } = {}): Promise<ResolvedManifest> {
    const ref = typeof input === 'string' ? parseReferenceArg(input) : input;
    const reference = ref.digest ?? ref.tag;
    if (reference === undefined) throw invalidArgument(`reference ${ref.string()} has neither tag nor digest`);
    const got = await this.getManifest(ref, reference, ref.digest ? { digest: ref.digest } : {}, opts.signal);
    return {
      ref,
      descriptor: { mediaType: got.document.mediaType, digest: got.digest, size: got.bytes.byteLength },
      bytes: got.bytes,
      document: got.document,
    };
  }

  /** Fetches the manifest or index a descriptor names (e.g. an index entry), verified against it. */
  async fetchManifest(
    ref: ImageReference,
    desc: Descriptor,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ bytes: Buffer; document: ManifestOrIndex }> {
    if (desc.size > this.maxManifestBytes) {
      throw new ImagesError(
        'RESOURCE_EXHAUSTED',
        `manifest ${desc.digest} of ${ref.name}: descriptor says ${desc.size} bytes, over the limit of ${this.maxManifestBytes} bytes`,
      );
    }
    const got = await this.getManifest(ref, desc.digest, { digest: desc.digest, size: desc.size }, opts.signal, desc.mediaType);
    return { bytes: got.bytes, document: got.document };
  }

  /**
   * Downloads a blob straight into the content store, hashing as it goes.
   * Resumes an existing ingest (and a connection dropped mid-way) with HTTP
   * Range; retries transient failures. Bytes that do not match the
   * descriptor's size or digest are discarded and reported.
   */
  async fetchBlob(
    ref: ImageReference,
    desc: Descriptor,
    store: ContentStore,
    opts: FetchBlobOptions = {},
  ): Promise<ContentInfo> {
    if (store.has(desc.digest)) return this.labelled(store, desc.digest, opts.labels);
    const what = `blob ${desc.digest} of ${ref.name}`;
    const writer = await store.writer(`fetch-${desc.digest}`, {
      expected: desc.digest,
      total: desc.size,
      ...(opts.labels ? { labels: opts.labels } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (store.has(desc.digest)) {
      // Another fetch committed it while we waited for the ingest lock.
      await writer.abort();
      return this.labelled(store, desc.digest, opts.labels);
    }
    try {
      opts.onProgress?.(writer.offset, desc.size);
      await withRetry(this.retry, opts.signal, async () => {
        const offset = writer.offset;
        if (offset === desc.size) return;
        const res = await this.send(ref, {
          method: 'GET',
          url: this.url(ref, `/blobs/${desc.digest}`),
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          scopes: [repositoryScope(ref.path, ['pull'])],
          what,
          signal: opts.signal,
        });
        if (res.status === 206) {
          const start = contentRangeStart(headerValue(res.headers, 'content-range'));
          if (start !== offset) {
            drain(res);
            await writer.truncate();
            throw new RegistryError('UNAVAILABLE', `${what}: asked for bytes from ${offset}, registry answered from ${start ?? '?'}; starting over`, true);
          }
        } else if (res.status === 200) {
          if (offset > 0) await writer.truncate(); // the registry ignored Range: take the whole blob
        } else if (res.status === 416 && offset > 0) {
          drain(res);
          await writer.truncate();
          throw new RegistryError('UNAVAILABLE', `${what}: registry refused to resume at byte ${offset}; starting over`, true);
        } else {
          throw await this.failure(res, what);
        }
        const remaining = desc.size - writer.offset;
        const length = Number(headerValue(res.headers, 'content-length'));
        if (headerValue(res.headers, 'content-length') !== undefined && length !== remaining) {
          drain(res);
          await writer.abort();
          throw new RegistryError(
            'DATA_LOSS',
            `${what}: registry sends ${res.status === 206 ? `${length} bytes from offset ${writer.offset}` : `${length} bytes`}, but the descriptor says the blob is ${desc.size} bytes`,
            false,
          );
        }
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            await writer.write(chunk);
            opts.onProgress?.(writer.offset, desc.size);
          }
        } catch (err) {
          res.body.destroy();
          if (err instanceof ImagesError && !(err instanceof RegistryError)) throw err; // content mismatch
          if (opts.signal?.aborted) throw opts.signal.reason;
          throw networkError(`${what}: connection lost after ${writer.offset} of ${desc.size} bytes`, err);
        }
        if (writer.offset < desc.size) {
          throw new RegistryError('UNAVAILABLE', `${what}: truncated: the registry sent ${writer.offset} of ${desc.size} bytes`, true);
        }
      });
      return await writer.commit();
    } finally {
      await writer.close();
    }
  }

  /** True when the registry has the blob in this repository. */
  async blobExists(ref: ImageReference, digest: Digest, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const what = `blob ${digest} in ${ref.name}`;
    return withRetry(this.retry, opts.signal, async () => {
      const res = await this.send(ref, {
        method: 'HEAD',
        url: this.url(ref, `/blobs/${digest}`),
        scopes: [repositoryScope(ref.path, ['pull', 'push'])],
        what,
        signal: opts.signal,
      });
      drain(res);
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      throw await this.failure(res, what);
    });
  }

  /**
   * Makes the registry hold `desc` in `ref`'s repository: nothing when it is
   * there, a cross-repository mount when one of `mountFrom` has it, else an
   * upload (monolithic PUT, or PATCH chunks with `chunkSize`).
   */
  async pushBlob(
    ref: ImageReference,
    desc: Descriptor,
    open: () => Readable,
    opts: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    if (await this.blobExists(ref, desc.digest, opts)) return 'exists';
    const what = `upload of blob ${desc.digest} to ${ref.name}`;
    return withRetry(this.retry, opts.signal, async () => {
      let location: URL | undefined;
      for (const from of opts.mountFrom ?? []) {
        if (from === ref.path) continue;
        const url = this.url(ref, '/blobs/uploads/');
        url.searchParams.set('mount', desc.digest);
        url.searchParams.set('from', from);
        const res = await this.send(ref, {
          method: 'POST',
          url,
          headers: { 'content-length': '0' },
          scopes: [repositoryScope(ref.path, ['pull', 'push']), repositoryScope(from, ['pull'])],
          what,
          signal: opts.signal,
        });
        drain(res);
        if (res.status === 201) return 'mounted';
        if (res.status === 202) {
          location = this.location(res, what);
          break;
        }
        throw await this.failure(res, what);
      }
      if (!location) location = await this.startUpload(ref, what, opts.signal);
      const scopes = [repositoryScope(ref.path, ['pull', 'push'])];
      const chunk = opts.chunkSize;
      if (chunk !== undefined && chunk > 0 && desc.size > chunk) {
        location = await this.uploadChunks(ref, location, desc, open, chunk, scopes, what, opts.signal);
        await this.finishUpload(ref, location, desc, undefined, scopes, what, opts.signal);
      } else {
        await this.finishUpload(ref, location, desc, open, scopes, what, opts.signal);
      }
      return 'uploaded';
    });
  }

  /**
   * Stores a manifest or index under a tag or digest, sending exactly `bytes`
   * so its digest is the local one; checks the digest the registry reports.
   */
  async pushManifest(
    ref: ImageReference,
    reference: string,
    mediaType: string,
    bytes: Buffer,
    opts: { signal?: AbortSignal } = {},
  ): Promise<Digest> {
    const digest = digestOf(bytes);
    const what = `manifest ${digest} to ${ref.name}:${reference}`;
    return withRetry(this.retry, opts.signal, async () => {
      const res = await this.send(ref, {
        method: 'PUT',
        url: this.url(ref, `/manifests/${reference}`),
        headers: { 'content-type': mediaType, 'content-length': String(bytes.byteLength) },
        body: () => bytes,
        scopes: [repositoryScope(ref.path, ['pull', 'push'])],
        what,
        signal: opts.signal,
      });
      if (res.status !== 201 && res.status !== 200) throw await this.failure(res, what);
      drain(res);
      const reported = headerValue(res.headers, 'docker-content-digest');
      if (reported !== undefined && reported !== digest) {
        throw new RegistryError('DATA_LOSS', `${what}: registry stored it as ${reported}, not ${digest}`, false);
      }
      return digest;
    });
  }

  // ---- internals ----

  private url(ref: ImageReference, suffix: string): URL {
    return new URL(`${this.schemeFor(ref.domain)}://${registryHost(ref.domain)}/v2/${ref.path}${suffix}`);
  }

  private labelled(store: ContentStore, digest: Digest, labels: Labels | undefined): ContentInfo {
    return labels && Object.keys(labels).length > 0 ? store.updateLabels(digest, labels) : store.info(digest);
  }

  private async getManifest(
    ref: ImageReference,
    reference: string,
    expected: { digest?: Digest; size?: number },
    signal: AbortSignal | undefined,
    mediaTypeHint?: string,
  ): Promise<{ bytes: Buffer; digest: Digest; document: ManifestOrIndex }> {
    const what = `manifest ${ref.name}${reference.includes(':') ? '@' : ':'}${reference}`;
    return withRetry(this.retry, signal, async () => {
      const res = await this.send(ref, {
        method: 'GET',
        url: this.url(ref, `/manifests/${reference}`),
        headers: { accept: MANIFEST_ACCEPT_TYPES.join(', ') },
        scopes: [repositoryScope(ref.path, ['pull'])],
        what,
        signal,
      });
      if (res.status !== 200) throw await this.failure(res, what);
      const bytes = await readBody(res, this.maxManifestBytes, what);
      const algorithm = expected.digest ? parseDigest(expected.digest).algorithm : 'sha256';
      const digest = digestOf(bytes, algorithm);
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw new RegistryError('DATA_LOSS', `${what}: registry sent content with digest ${digest}, not the ${expected.digest} asked for`, false);
      }
      if (expected.size !== undefined && bytes.byteLength !== expected.size) {
        throw new RegistryError('DATA_LOSS', `${what}: registry sent ${bytes.byteLength} bytes, the descriptor says ${expected.size}`, false);
      }
      const reported = headerValue(res.headers, 'docker-content-digest');
      if (reported !== undefined) {
        let reportedDigest: Digest;
        try {
          reportedDigest = parseDigest(reported.trim()).digest;
        } catch (err) {
          throw new RegistryError('DATA_LOSS', `${what}: invalid Docker-Content-Digest header: ${messageOf(err)}`, false);
        }
        const actual = digestOf(bytes, parseDigest(reportedDigest).algorithm);
        if (actual !== reportedDigest) {
          throw new RegistryError('DATA_LOSS', `${what}: content hashes to ${actual}, but the registry's Docker-Content-Digest says ${reportedDigest}`, false);
        }
      }
      const contentType = headerValue(res.headers, 'content-type') ?? mediaTypeHint;
      let document: ManifestOrIndex;
      try {
        document = parseManifestOrIndex(bytes, contentType, { maxBytes: this.maxManifestBytes });
      } catch (err) {
        throw new ImagesError(statusCodeOf(err), `${what}: ${messageOf(err)}`, { cause: err });
      }
      return { bytes, digest, document };
    });
  }

  private async startUpload(ref: ImageReference, what: string, signal: AbortSignal | undefined): Promise<URL> {
    const res = await this.send(ref, {
      method: 'POST',
      url: this.url(ref, '/blobs/uploads/'),
      headers: { 'content-length': '0' },
      scopes: [repositoryScope(ref.path, ['pull', 'push'])],
      what,
      signal,
    });
    drain(res);
    if (res.status !== 202) throw await this.failure(res, what);
    return this.location(res, what);
  }

  private async uploadChunks(
    ref: ImageReference,
    location: URL,
    desc: Descriptor,
    open: () => Readable,
    chunkSize: number,
    scopes: string[],
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<URL> {
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const body = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      const res = await this.send(ref, {
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(body.byteLength),
          'content-range': `${offset}-${offset + body.byteLength - 1}`,
        },
        body: () => body,
        scopes,
        what,
        signal,
      });
      drain(res);
      if (res.status !== 202) throw await this.failure(res, what);
      offset += body.byteLength;
      location = this.location(res, what);
    };
    for await (const chunk of open() as AsyncIterable<Buffer>) {
      let rest = chunk;
      while (rest.byteLength > 0) {
        const take = Math.min(rest.byteLength, chunkSize - pendingBytes);
        pending.push(rest.subarray(0, take));
        pendingBytes += take;
        rest = rest.subarray(take);
        if (pendingBytes === chunkSize) await flush();
      }
    }
    if (pendingBytes > 0) await flush();
    if (offset !== desc.size) {
      throw new ImagesError('DATA_LOSS', `${what}: local content is ${offset} bytes, the descriptor says ${desc.size}`);
    }
    return location;
  }

  private async finishUpload(
    ref: ImageReference,
    location: URL,
    desc: Descriptor,
    open: (() => Readable) | undefined,
    scopes: string[],
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', desc.digest);
    const res = await this.send(ref, {
      method: 'PUT',
      url,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(open ? desc.size : 0),
      },
      ...(open ? { body: open } : {}),
      scopes,
      what,
      signal,
    });
    drain(res);
    if (res.status !== 201) throw await this.failure(res, what);
    const reported = headerValue(res.headers, 'docker-content-digest');
    if (reported !== undefined && reported !== desc.digest) {
      throw new RegistryError('DATA_LOSS', `${what}: registry stored it as ${reported}`, false);
    }
  }

  private location(res: HttpResponse, what: string): URL {
    const loc = headerValue(res.headers, 'location');
    if (!loc) throw new RegistryError('INTERNAL', `${what}: registry answered ${res.status} without a Location header`, false);
    try {
      return new URL(loc, res.url);
    } catch {
      throw new RegistryError('INTERNAL', `${what}: registry sent an invalid Location header`, false);
    }
  }

  /** One request with authentication (answering 401 challenges) and redirects; no retries. */
  private async send(ref: ImageReference, spec: RequestSpec): Promise<HttpResponse> {
    const host = registryHost(ref.domain);
    for (let tries = 0; tries < 3; tries++) {
      const authorization = await this.authorizer.authorization(host, spec.scopes, spec.signal);
      const res = await this.followRedirects(spec, host, authorization);
      if (res.status !== 401) return res;
      drain(res);
      if (!this.authorizer.onChallenge(host, headerValue(res.headers, 'www-authenticate'), authorization)) {
        throw this.unauthenticated(host, spec.what, authorization !== undefined);
      }
    }
    throw this.unauthenticated(host, spec.what, true);
  }

  private unauthenticated(host: string, what: string, sentCredentials: boolean): RegistryError {
    const message = this.authorizer.hasCredentials(host)
      ? `${what}: ${host} refused the configured credentials (HTTP 401)`
      : sentCredentials
        ? `${what}: ${host} refused anonymous access (HTTP 401); log in with berth login ${host}`
        : `${what}: ${host} requires authentication and no credentials are configured for it; log in with berth login ${host}`;
    return new RegistryError('UNAUTHENTICATED', message, false, { status: 401 });
  }

  private async followRedirects(
    spec: RequestSpec,
    registry: string,
    authorization: string | undefined,
  ): Promise<HttpResponse> {
    let url = spec.url;
    let method = spec.method;
    let body = spec.body;
    const extra: Record<string, string> = { ...spec.headers };
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...extra };
      // Credentials only go to the registry itself, never to a redirect target elsewhere (e.g. a CDN).
      if (authorization !== undefined && url.host === registry) headers.authorization = authorization;
      const res = await sendHttp(
        this.agents,
        { method, url, headers, ...(body ? { body: body() } : {}), ...(spec.signal ? { signal: spec.signal } : {}) },
        this.timeouts,
      );
      const location = headerValue(res.headers, 'location');
      if (!REDIRECTS.has(res.status) || !location) return res;
      drain(res);
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError('UNAVAILABLE', `${spec.what}: more than ${MAX_REDIRECTS} redirects`, false);
      }
      try {
        url = new URL(location, url);
      } catch {
        throw new RegistryError('UNAVAILABLE', `${spec.what}: redirect to an invalid Location`, false);
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method !== 'GET' && method !== 'HEAD')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        delete extra['content-length'];
        delete extra['content-type'];
      }
    }
  }

  /** The error for an unexpected status, with the registry's own message. */
  private async failure(res: HttpResponse, what: string): Promise<RegistryError> {
    const summary = res.body.readableEnded ? '' : await errorSummary(res);
    const where = `${what}: HTTP ${res.status}${res.body.statusMessage ? ` ${res.body.statusMessage}` : ''} from ${redactUrl(res.url)}${summary ? `: ${summary}` : ''}`;
    const retryAfterMs = parseRetryAfter(headerValue(res.headers, 'retry-after'));
    const details = { status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (res.status === 401) return new RegistryError('UNAUTHENTICATED', where, false, details);
    if (res.status === 403) return new RegistryError('PERMISSION_DENIED', where, false, details);
    if (res.status === 404) return new RegistryError('NOT_FOUND', where, false, details);
    if (res.status === 429) return new RegistryError('RESOURCE_EXHAUSTED', `${where} (rate limited)`, true, details);
    if (res.status >= 500 && res.status !== 501 && res.status !== 505) {
      return new RegistryError('UNAVAILABLE', where, true, details);
    }
    return new RegistryError('FAILED_PRECONDITION', where, false, details);
  }

  private async fetchToken(req: TokenRequest): Promise<TokenResponse> {
    const what = `token from ${redactUrl(req.realm)}`;
    return withRetry(this.retry, undefined, async () => {
      const creds = req.credentials;
      let res: HttpResponse;
      if (creds?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth' });
        if (req.service) form.set('service', req.service);
        if (req.scopes.length > 0) form.set('scope', req.scopes.join(' '));
        const body = Buffer.from(form.toString());
        res = await sendHttp(
          this.agents,
          {
            method: 'POST',
            url: req.realm,
            headers: { 'user-agent': this.userAgent, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.byteLength) },
            body,
          },
          this.timeouts,
        );
      } else {
        const url = new URL(req.realm);
        if (req.service) url.searchParams.set('service', req.service);
        for (const s of req.scopes) url.searchParams.append('scope', s);
        const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
        if (creds?.username && creds.password !== undefined) {
          headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
        }
        res = await sendHttp(this.agents, { method: 'GET', url, headers }, this.timeouts);
      }
      if (res.status === 401 || res.status === 403) {
        drain(res);
        throw new RegistryError(
          'UNAUTHENTICATED',
          `${what}: the token server refused ${creds ? 'the configured credentials' : 'anonymous access'} (HTTP ${res.status})`,
          false,
          { status: res.status },
        );
      }
      if (res.status !== 200) throw await this.failure(res, what);
      const body = await readBody(res, 1024 * 1024, what);
      let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
      } catch {
        throw new RegistryError('UNAUTHENTICATED', `${what}: the token server's answer is not JSON`, false);
      }
      const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
      if (typeof token !== 'string' || token === '') {
        throw new RegistryError('UNAUTHENTICATED', `${what}: the token server's answer has no token`, false);
      }
      return {
        token,
        ...(typeof parsed.expires_in === 'number' ? { expiresIn: parsed.expires_in } : {}),
        ...(typeof parsed.issued_at === 'string' ? { issuedAt: parsed.issued_at } : {}),
      };
    });
  }
}

/** Parses a reference given as a string, with the error wrapped as INVALID_ARGUMENT. */
export function parseReferenceArg(input: string): ImageReference {
  try {
    return parseReference(input);
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), messageOf(err), { cause: err });
  }
}

function contentRangeStart(value: string | undefined): number | undefined {
  const m = value ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

export { Readable };

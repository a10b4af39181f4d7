// A request's RegistryOptions (plain HTTP, TLS settings, credentials) as a
// registry client: the service's shared one (which keeps connections and
// tokens) when the request changes nothing, else one for this request only,
// whose TLS and scheme settings apply to the request's registry alone.
import type { images } from '@berth/api';
import { parseReferenceArg, RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import type { Credentials } from '../registry/docker-config.js';
import { withRequestSettings, type RegistryHostOptions } from '../registry/hosts.js';

export interface RegistryLease {
  client: RegistryClient;
  /** Closes the client if it was made for this request. */
  release(): void;
}

/** Credentials a request carries; undefined when it carries none. */
export function credentialsFromProto(c: images.RegistryCredentials | undefined): Credentials | undefined {
  if (!c) return undefined;
  const creds: Credentials = {
    ...(c.username ? { username: c.username } : {}),
    ...(c.password ? { password: c.password } : {}),
    ...(c.identityToken ? { identityToken: c.identityToken } : {}),
    ...(c.registryToken ? { registryToken: c.registryToken } : {}),
  };
  return Object.keys(creds).length > 0 ? creds : undefined;
}

/** The registry (host[:port]) an image reference names. */
export function registryOf(reference: string): string {
  return parseReferenceArg(reference).domain;
}

/** The client for a request to `registry` (a reference's domain, e.g. "127.0.0.1:5000" or "docker.io"). */
export function registryFor(
  shared: RegistryClient,
  base: RegistryClientOptions,
  opts: images.RegistryOptions | undefined,
  registry: string,
): RegistryLease {
  const creds = credentialsFromProto(opts?.credentials);
  const ca = opts && opts.caPem.byteLength > 0 ? opts.caPem : undefined;
  if (!opts || (!opts.plainHttp && !opts.skipTlsVerify && ca === undefined && creds === undefined)) {
    return { client: shared, release: () => undefined };
  }
  const requested: RegistryHostOptions = {
    ...(opts.plainHttp ? { plainHttp: true } : {}),
    ...(opts.skipTlsVerify ? { skipTlsVerify: true } : {}),
    ...(ca !== undefined ? { ca } : {}),
  };
  const client = new RegistryClient({
    ...base,
    hosts: { ...base.hosts, [registry]: withRequestSettings(base.hosts?.[registry], requested) },
    ...(creds ? { credentials: () => creds } : {}),
  });
  return { client, release: () => client.close() };
}

// A request's RegistryOptions (plain HTTP, TLS settings, credentials) as a
// registry client: the service's shared one (which keeps connections and
// tokens) when the request changes nothing, else one for this request only.
import type { images } from '@berth/api';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import type { Credentials } from '../registry/docker-config.js';

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

export function registryFor(
  shared: RegistryClient,
  base: RegistryClientOptions,
  opts: images.RegistryOptions | undefined,
): RegistryLease {
  const creds = credentialsFromProto(opts?.credentials);
  const ca = opts && opts.caPem.byteLength > 0 ? opts.caPem : undefined;
  if (!opts || (!opts.plainHttp && !opts.skipTlsVerify && ca === undefined && creds === undefined)) {
    return { client: shared, release: () => undefined };
  }
  const client = new RegistryClient({
    ...base,
    ...(opts.plainHttp ? { plainHttp: true } : {}),
    ...(opts.skipTlsVerify ? { skipTlsVerify: true } : {}),
    ...(ca !== undefined ? { ca: base.ca !== undefined ? [base.ca, ca].flat() : ca } : {}),
    ...(creds ? { credentials: () => creds } : {}),
  });
  return { client, release: () => client.close() };
}

// Per-registry connection settings, like containerd's hosts.toml: which
// scheme a registry speaks and how its TLS certificate is checked. Keys are
// registries as image references name them (host[:port], e.g. "docker.io",
// "127.0.0.1:5443").
import { readFileSync } from 'node:fs';
import { isLocalhostRegistry, registryHost } from '@berth/oci';
import { invalidArgument, messageOf } from '../errors.js';
import { normalizeRegistryHost } from './login.js';

export type CaCertificates = string | Buffer | (string | Buffer)[];

export interface RegistryHostOptions {
  /** CA certificates (PEM) trusted for this registry, in addition to the system's. */
  ca?: CaCertificates;
  /** Accept any certificate from this registry (no verification at all). */
  skipTlsVerify?: boolean;
  /**
   * true: plain HTTP. false: HTTPS, even for a loopback registry. Unset:
   * HTTPS when `ca` or `skipTlsVerify` is set, else the default rule
   * (plain HTTP for loopback and insecure registries, HTTPS otherwise).
   */
  plainHttp?: boolean;
}

/** One entry of the service setting `images.registries`. */
export interface RegistryHostConfig {
  /** A PEM file with the CA certificate(s) the registry's certificate chains to. */
  caFile?: string | undefined;
  insecureSkipVerify?: boolean | undefined;
  plainHttp?: boolean | undefined;
}

export interface SchemeRules {
  /** Plain HTTP for every registry. */
  plainHttp?: boolean;
  /** Registries spoken to over plain HTTP (besides loopback ones). */
  insecureRegistries?: string[];
  hosts?: Record<string, RegistryHostOptions>;
}

/** "http" or "https" for a registry domain: its own entry first, then loopback and the insecure list. */
export function schemeFor(domain: string, rules: SchemeRules): 'http' | 'https' {
  if (rules.plainHttp) return 'http';
  const host = rules.hosts?.[domain];
  if (host?.plainHttp !== undefined) return host.plainHttp ? 'http' : 'https';
  if (host && (host.ca !== undefined || host.skipTlsVerify)) return 'https';
  if (isLocalhostRegistry(domain) || rules.insecureRegistries?.includes(domain)) return 'http';
  return 'https';
}

/**
 * TLS settings by the host[:port] that URLs to the registry carry (Docker Hub
 * is reached at registry-1.docker.io; a port 443 is implied), for choosing
 * the HTTPS agent of a request.
 */
export function tlsByUrlHost(hosts: Record<string, RegistryHostOptions> | undefined): Map<string, RegistryHostOptions> {
  const out = new Map<string, RegistryHostOptions>();
  for (const [domain, opts] of Object.entries(hosts ?? {})) {
    if (opts.ca === undefined && !opts.skipTlsVerify) continue;
    out.set(new URL(`https://${registryHost(domain)}`).host, opts);
  }
  return out;
}

/** A registry's settings with a request's own added: CAs from both, verification skipped if either says so. */
export function withRequestSettings(base: RegistryHostOptions | undefined, extra: RegistryHostOptions): RegistryHostOptions {
  const ca = [base?.ca, extra.ca].flat().filter((c): c is string | Buffer => c !== undefined);
  return {
    ...(ca.length > 0 ? { ca } : {}),
    ...(base?.skipTlsVerify || extra.skipTlsVerify ? { skipTlsVerify: true } : {}),
    ...(extra.plainHttp !== undefined ? { plainHttp: extra.plainHttp } : base?.plainHttp !== undefined ? { plainHttp: base.plainHttp } : {}),
  };
}

/**
 * The service setting `images.registries` as client options: keys checked
 * and normalised, CA files read now, so a wrong path stops the service at
 * start with a message naming the setting and the file.
 */
export function hostsFromConfig(
  registries: Record<string, RegistryHostConfig>,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Record<string, RegistryHostOptions> {
  const out: Record<string, RegistryHostOptions> = {};
  for (const [key, entry] of Object.entries(registries)) {
    const where = `images.registries[${JSON.stringify(key)}]`;
    let domain: string;
    try {
      domain = normalizeRegistryHost(key);
    } catch (err) {
      throw invalidArgument(`${where}: ${messageOf(err)}`);
    }
    if (entry.plainHttp === true && (entry.caFile !== undefined || entry.insecureSkipVerify)) {
      throw invalidArgument(`${where}: plainHttp is true, so caFile and insecureSkipVerify would never apply`);
    }
    const opts: RegistryHostOptions = {};
    if (entry.caFile !== undefined) opts.ca = readCaFile(entry.caFile, `${where}.caFile`, read);
    if (entry.insecureSkipVerify) opts.skipTlsVerify = true;
    if (entry.plainHttp !== undefined) opts.plainHttp = entry.plainHttp;
    out[domain] = opts;
  }
  return out;
}

function readCaFile(path: string, where: string, read: (path: string) => string): string {
  let pem: string;
  try {
    pem = read(path);
  } catch (err) {
    throw invalidArgument(`${where}: cannot read ${path}: ${messageOf(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw invalidArgument(`${where}: ${path} holds no PEM certificate`);
  return pem;
}

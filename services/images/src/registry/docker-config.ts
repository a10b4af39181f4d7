// Credentials in Docker's config.json format (`auths` map), so `berth login`
// and `docker login` files are interchangeable. Secrets never appear in error
// messages: parse errors name the file and the field, not the content.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@berth/store';
import { invalidArgument } from '../errors.js';

export interface DockerAuthEntry {
  /** base64("username:password") */
  auth?: string;
  username?: string;
  password?: string;
  /** OAuth2 refresh token, exchanged at the token endpoint. */
  identitytoken?: string;
  /** A bearer token sent as is. */
  registrytoken?: string;
  email?: string;
}

/** A Docker config.json; keys berth does not use (credsStore, proxies, ...) are kept as they are. */
export interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>;
  [key: string]: unknown;
}

export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** Reads a config file; a missing file is an empty config, a malformed one an error naming the file. */
export function readDockerConfig(path: string): DockerConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {} };
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidArgument(`credentials file ${path} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`credentials file ${path}: expected a JSON object`);
  }
  const config = value as DockerConfigFile;
  if (config.auths !== undefined && (typeof config.auths !== 'object' || config.auths === null || Array.isArray(config.auths))) {
    throw invalidArgument(`credentials file ${path}: "auths" must be an object`);
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (entry === null || typeof entry !== 'object') {
      throw invalidArgument(`credentials file ${path}: auths[${JSON.stringify(key)}] must be an object`);
    }
  }
  return config;
}

/** Writes a config file atomically with mode 0600 (its directory 0700). */
export function writeDockerConfig(path: string, config: DockerConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, `${JSON.stringify(config, null, '\t')}\n`, 0o600);
}

/** The auths key hosts are filed under; Docker Hub keeps its historical URL. */
export function authKeyFor(host: string): string {
  return isDockerHub(host) ? 'https://index.docker.io/v1/' : host;
}

function isDockerHub(host: string): boolean {
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host);
}

/** The host an auths key names ("https://host/v1/", "host", "http://host"). */
function keyHost(key: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(key) ? key : `dummy://${key}`;
  try {
    return new URL(withScheme).host;
  } catch {
    return key;
  }
}

/** Credentials for `host` from a config, or undefined for anonymous access. */
export function credentialsFor(config: DockerConfigFile, host: string): Credentials | undefined {
  const auths = config.auths ?? {};
  const wanted = isDockerHub(host) ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [host];
  const entry =
    auths[authKeyFor(host)] ??
    Object.entries(auths).find(([key]) => wanted.includes(keyHost(key)))?.[1];
  if (!entry) return undefined;
  const creds: Credentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidArgument(`credentials for ${host}: "auth" is not base64 of "username:password"`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  }
  if (entry.username !== undefined && creds.username === undefined) creds.username = entry.username;
  if (entry.password !== undefined && creds.password === undefined) creds.password = entry.password;
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  if (entry.registrytoken) creds.registryToken = entry.registrytoken;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

/** A copy of `config` with credentials for `host` set (what `berth login` writes). */
export function setCredentials(config: DockerConfigFile, host: string, creds: Credentials): DockerConfigFile {
  const entry: DockerAuthEntry = {};
  if (creds.username !== undefined && creds.password !== undefined) {
    entry.auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  } else if (creds.username !== undefined) {
    entry.username = creds.username;
  }
  if (creds.identityToken) entry.identitytoken = creds.identityToken;
  if (creds.registryToken) entry.registrytoken = creds.registryToken;
  return { ...config, auths: { ...(config.auths ?? {}), [authKeyFor(host)]: entry } };
}

/** A copy of `config` without credentials for `host` (what `berth logout` writes). */
export function removeCredentials(config: DockerConfigFile, host: string): DockerConfigFile {
  const auths = { ...(config.auths ?? {}) };
  const wanted = isDockerHub(host) ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [host];
  for (const key of Object.keys(auths)) if (key === authKeyFor(host) || wanted.includes(keyHost(key))) delete auths[key];
  return { ...config, auths };
}

/** A credentials lookup over a config file, re-read on each lookup so a later `berth login` takes effect. */
export function dockerConfigCredentials(path: string): (host: string) => Credentials | undefined {
  return (host) => credentialsFor(readDockerConfig(path), host);
}

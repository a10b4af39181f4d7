// Registry credentials in Docker's config.json ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json): `berth login` writes them, pull and push read
// them and send them with the request, so `docker login` files work as well.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BerthError } from './output.js';

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  [key: string]: unknown;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  [key: string]: unknown;
}

export interface Credentials {
  username: string;
  password: string;
  identityToken: string;
  registryToken: string;
}

const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env['DOCKER_CONFIG'] ?? join(env['HOME'] ?? homedir(), '.docker'), 'config.json');
}

/** The key credentials for host are filed under (Docker Hub keeps its historical URL). */
export const authKey = (host: string): string => (DOCKER_HUB_HOSTS.includes(host) ? DOCKER_HUB_KEY : host);

/** The registry host an auths key names: "https://host/v1/", "http://host" or "host". */
function keyHost(key: string): string {
  try {
    return new URL(/^[a-z]+:\/\//i.test(key) ? key : `x://${key}`).host;
  } catch {
    return key;
  }
}

function matches(key: string, host: string): boolean {
  const wanted = DOCKER_HUB_HOSTS.includes(host) ? DOCKER_HUB_HOSTS : [host];
  return key === authKey(host) || wanted.includes(keyHost(key));
}

export function readDockerConfig(path: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new BerthError(`cannot read the credentials file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BerthError(`the credentials file ${path} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BerthError(`the credentials file ${path} does not hold a JSON object`);
  }
  const config = value as DockerConfig;
  if (config.auths !== undefined && (config.auths === null || typeof config.auths !== 'object' || Array.isArray(config.auths))) {
    throw new BerthError(`the credentials file ${path}: "auths" is not an object`);
  }
  return config;
}

/** Credentials stored for host, or undefined for anonymous access. */
export function credentialsFor(config: DockerConfig, host: string): Credentials | undefined {
  const entry = Object.entries(config.auths ?? {}).find(([key]) => matches(key, host))?.[1];
  if (!entry || typeof entry !== 'object') return undefined;
  const creds: Credentials = { username: '', password: '', identityToken: '', registryToken: '' };
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new BerthError(`the stored credentials for ${host} are damaged ("auth" is not base64 of user:password)`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  }
  if (typeof entry.username === 'string' && creds.username === '') creds.username = entry.username;
  if (typeof entry.password === 'string' && creds.password === '') creds.password = entry.password;
  if (typeof entry.identitytoken === 'string') creds.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string') creds.registryToken = entry.registrytoken;
  return Object.values(creds).some((v) => v !== '') ? creds : undefined;
}

/** config with credentials for host set: an identity token when the registry issued one, else user:password. */
export function withCredentials(config: DockerConfig, host: string, creds: Credentials): DockerConfig {
  const auths = Object.fromEntries(Object.entries(config.auths ?? {}).filter(([key]) => !matches(key, host)));
  const entry: AuthEntry = creds.identityToken
    ? { auth: Buffer.from(`${creds.username}:`).toString('base64'), identitytoken: creds.identityToken }
    : { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  return { ...config, auths: { ...auths, [authKey(host)]: entry } };
}

/** config without credentials for host, and whether there were any. */
export function withoutCredentials(config: DockerConfig, host: string): { config: DockerConfig; removed: boolean } {
  const entries = Object.entries(config.auths ?? {});
  const kept = entries.filter(([key]) => !matches(key, host));
  return { config: { ...config, auths: Object.fromEntries(kept) }, removed: kept.length !== entries.length };
}

/** Writes the file atomically, mode 0600, in a 0700 directory. */
export function writeDockerConfig(path: string, config: DockerConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(config, null, '\t')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BerthError(`cannot write the credentials file ${path}: ${(err as Error).message}`);
  }
}

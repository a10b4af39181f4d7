// `login` and `logout`: credentials checked by the images service against
// the registry, then kept in Docker's config.json.
import type { CliIo } from '../stdio/io.js';
import * as images from '@berth/api/images';
import { withSession } from '../client/session.js';
import { BerthError, UsageError } from '../output.js';
import { authKey, credentialsFor, dockerConfigPath, readDockerConfig, withCredentials, withoutCredentials, writeDockerConfig } from '../registry-auth.js';
import type { GlobalOptions } from '../stack-options.js';
import { readLine, readSecret } from '../stdio/prompt.js';
import { Code, hasCode } from '../client/errors.js';

const DEFAULT_REGISTRY = 'docker.io';

/** "https://host/v1/" or "host" -> "host". */
export function registryHost(server: string | undefined): string {
  if (!server) return DEFAULT_REGISTRY;
  const host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (host === '' || /\s/.test(host)) throw new UsageError(`invalid registry "${server}"`);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DEFAULT_REGISTRY : host;
}

export interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  plainHttp?: boolean;
  skipTlsVerify?: boolean;
}

async function readStdinAll(io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}

export async function login(g: GlobalOptions, server: string | undefined, o: LoginOptions): Promise<number> {
  const host = registryHost(server);
  if (o.password !== undefined && o.passwordStdin) throw new UsageError('--password and --password-stdin are mutually exclusive');
  if (o.passwordStdin && !o.username) throw new UsageError('--password-stdin needs --username');
  const path = dockerConfigPath(g.io.env);
  let username = o.username;
  let password = o.password;
  if (password !== undefined) g.io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (o.passwordStdin) password = await readStdinAll(g.io);
  if (username === undefined || password === undefined) {
    if (!g.io.stdin.isTTY) throw new UsageError('no credentials given: use --username with --password-stdin, or run on a terminal');
    username ??= (await readLine(g.io, `Username: `)).trim();
    password ??= await readSecret(g.io, 'Password: ');
  }
  if (username === '') throw new UsageError('empty username');
  if (password === '') throw new UsageError('empty password');
  return withSession(g, async (s) => {
    let identityToken = '';
    try {
      identityToken = (
        await s.unary(s.api(images.TransferClient), 'verifyRegistryCredentials', {
          registryHost: host,
          registry: images.RegistryOptions.fromPartial({
            plainHttp: o.plainHttp === true,
            skipTlsVerify: o.skipTlsVerify === true,
            credentials: { username, password },
          }),
        })
      ).identityToken;
    } catch (err) {
      if (hasCode(err, Code.UNAUTHENTICATED, Code.PERMISSION_DENIED)) {
        throw new BerthError(`login to ${host} failed: ${err.message}`, 125, { cause: err });
      }
      throw err;
    }
    const config = readDockerConfig(path);
    writeDockerConfig(path, withCredentials(config, host, { username, password, identityToken, registryToken: '' }));
    g.io.stdout.write('Login Succeeded\n');
    return 0;
  });
}

export async function logout(io: CliIo, server: string | undefined): Promise<number> {
  const host = registryHost(server);
  const path = dockerConfigPath(io.env);
  const config = readDockerConfig(path);
  if (!credentialsFor(config, host)) {
    io.stdout.write(`Not logged in to ${authKey(host)}\n`);
    return 0;
  }
  const { config: next } = withoutCredentials(config, host);
  writeDockerConfig(path, next);
  io.stdout.write(`Removing login credentials for ${authKey(host)}\n`);
  return 0;
}

// BusOptions -> the NATS client's ConnectionOptions. Credential files are read
// here, so a missing or unreadable file is reported by option name and path
// instead of surfacing as an obscure handshake failure.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions } from 'nats';
import type { Logger } from '@berth/telemetry';
import { BusConnectError } from './errors.js';

export interface BusTlsOptions {
  /** CA bundle to verify the server with (default: the system's). */
  caFile?: string;
  /** Client certificate and key, for servers that verify clients (mTLS). */
  certFile?: string;
  keyFile?: string;
}

export interface BusOptions {
  /** NATS server URL(s), e.g. nats://127.0.0.1:4222. */
  servers: string | string[];
  /** This process's service name: the envelope `source`, the default queue group of serviceRpc. */
  service: string;
  /** This process's node id. */
  node: string;
  /** Connection name shown by the server (default `<service>@<node>`). */
  name?: string;
  token?: string;
  user?: string;
  pass?: string;
  /** File holding an NKEY seed (SU...). */
  nkeySeedFile?: string;
  /** A decentralised-auth .creds file (JWT + seed). */
  credsFile?: string;
  tls?: BusTlsOptions;
  /** Default: a @berth/telemetry logger for service/node. */
  logger?: Logger;
  /** Default -1: reconnect forever. */
  maxReconnectAttempts?: number;
  /** Pause between reconnect attempts to one server (default 2000 ms). */
  reconnectTimeWaitMs?: number;
  /** Initial connect timeout (default 20000 ms). */
  connectTimeoutMs?: number;
  /** Keep retrying when no server is reachable at the first connect (default false: fail at once). */
  waitOnFirstConnect?: boolean;
  /** Create/update the BERTH_EVENTS stream on connect (default true); false for a server without JetStream. */
  jetstream?: boolean;
}

export async function natsConnectionOptions(opts: BusOptions): Promise<ConnectionOptions> {
  if (opts.nkeySeedFile !== undefined && opts.credsFile !== undefined) {
    throw new BusConnectError('INVALID_OPTION', 'bus options: give either nkeySeedFile or credsFile, not both');
  }
  if ((opts.user === undefined) !== (opts.pass === undefined)) {
    throw new BusConnectError('INVALID_OPTION', 'bus options: user and pass go together (only one was given)');
  }
  const authenticators: Authenticator[] = [];
  if (opts.nkeySeedFile !== undefined) {
    const seed = (await readOptionFile('nkeySeedFile', opts.nkeySeedFile)).toString('utf8').trim();
    if (!/^S[A-Z2-7]{56,}$/.test(seed)) {
      throw new BusConnectError('INVALID_OPTION', `bus options: nkeySeedFile ${opts.nkeySeedFile} does not hold an NKEY seed (expected one line starting with "S")`);
    }
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (opts.credsFile !== undefined) {
    authenticators.push(credsAuthenticator(new Uint8Array(await readOptionFile('credsFile', opts.credsFile))));
  }
  if (opts.tls) {
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      const file = opts.tls[key];
      if (file !== undefined) await readOptionFile(`tls.${key}`, file);
    }
    if ((opts.tls.certFile === undefined) !== (opts.tls.keyFile === undefined)) {
      throw new BusConnectError('INVALID_OPTION', 'bus options: tls.certFile and tls.keyFile go together (only one was given)');
    }
  }
  return {
    servers: opts.servers,
    name: opts.name ?? `${opts.service}@${opts.node}`,
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.user !== undefined ? { user: opts.user, pass: opts.pass } : {}),
    ...(authenticators.length > 0 ? { authenticator: authenticators } : {}),
    ...(opts.tls ? { tls: { ...opts.tls, ...ipIdentityCheck(opts.servers) } } : {}),
    maxReconnectAttempts: opts.maxReconnectAttempts ?? -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 2000,
    timeout: opts.connectTimeoutMs ?? 20_000,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
  };
}

async function readOptionFile(option: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new BusConnectError('INVALID_OPTION', `bus options: ${option} ${path} cannot be read: ${(err as Error).message}`, err);
  }
}

/**
 * The NATS client verifies a server reached by IP address (nats://10.0.0.5)
 * against the name "localhost", so a certificate issued for that IP fails.
 * Also accept a certificate valid for one of the IP addresses we were told
 * to connect to; the chain is still verified against the CA as usual.
 */
function ipIdentityCheck(servers: string | string[]): { checkServerIdentity?: typeof checkServerIdentity } {
  const ips = [servers]
    .flat()
    .map((server) => {
      try {
        return new URL(server.includes('://') ? server : `nats://${server}`).hostname.replace(/^\[|\]$/g, '');
      } catch {
        return '';
      }
    })
    .filter((host) => isIP(host) !== 0);
  if (ips.length === 0) return {};
  return {
    checkServerIdentity: (host: string, cert: PeerCertificate) => {
      const error = checkServerIdentity(host, cert);
      if (error === undefined) return undefined;
      return ips.some((ip) => checkServerIdentity(ip, cert) === undefined) ? undefined : error;
    },
  };
}

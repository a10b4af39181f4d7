// Decentralised (JWT) auth for a test nats-server: an operator, one account
// and its users, signed with fresh nkeys, as `nsc` would make them.
import { nkeys } from 'nats';

type KeyPair = ReturnType<typeof nkeys.createUser>;

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** A NATS JWT: header.claims.signature, signed by the issuer's nkey. */
function natsJwt(issuer: KeyPair, subject: string, name: string, nats: object): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const iat = Math.floor(Date.now() / 1000);
  const claims = b64url(JSON.stringify({ jti: `${subject.slice(0, 12)}${iat}`, iat, iss: issuer.getPublicKey(), sub: subject, name, nats }));
  return `${header}.${claims}.${b64url(issuer.sign(Buffer.from(`${header}.${claims}`)))}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1 };

export interface JwtAuth {
  /** nats-server configuration trusting the operator, with the account preloaded. */
  config(operatorJwtPath: string): string;
  operatorJwt: string;
  /** A .creds file of a user of the trusted account. */
  userCreds(): string;
  /** A .creds file of a user of an account the operator never signed. */
  strangerCreds(): string;
}

function credsFile(userJwt: string, user: KeyPair): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '-----BEGIN USER NKEY SEED-----',
    new TextDecoder().decode(user.getSeed()),
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}

export function makeJwtAuth(): JwtAuth {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const operatorJwt = natsJwt(operator, operator.getPublicKey(), 'test-operator', { type: 'operator', version: 2 });
  const accountLimits = { ...UNLIMITED, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const accountJwt = natsJwt(operator, account.getPublicKey(), 'test-account', { type: 'account', version: 2, limits: accountLimits });
  const userOf = (issuer: KeyPair) => {
    const user = nkeys.createUser();
    return credsFile(natsJwt(issuer, user.getPublicKey(), 'test-user', { type: 'user', version: 2, pub: {}, sub: {}, ...UNLIMITED }), user);
  };
  return {
    operatorJwt,
    config: (operatorJwtPath) => `operator: ${JSON.stringify(operatorJwtPath)}\nresolver: MEMORY\nresolver_preload: {\n  ${account.getPublicKey()}: "${accountJwt}"\n}\n`,
    userCreds: () => userOf(account),
    strangerCreds: () => userOf(nkeys.createAccount()),
  };
}

// NODE_EXTRA_CA_CERTS makes Node read and parse that file as it starts, before
// any code runs: ≈100 ms of CPU for a distribution's whole CA bundle, most of
// what a short berth command costs. berth itself opens one kind of TLS
// connection only (`events`, to a NATS server that speaks TLS); registries are
// the images service's business. So the #! line of bin.ts moves the variable
// aside (to BERTH_NODE_EXTRA_CA_CERTS, with coreutils' `env -S -u`), and this
// puts it back: into the environment of the processes berth starts, which load
// the file as usual, and for berth's own TLS, which then passes the file itself.

const MOVED = 'BERTH_NODE_EXTRA_CA_CERTS';

/** The file this process's Node did not load (see above), once restoreExtraCaCerts found it. */
let deferred: string | undefined;

/** Moves BERTH_NODE_EXTRA_CA_CERTS back to NODE_EXTRA_CA_CERTS (empty: it was not set). Call before anything is spawned. */
export function restoreExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const moved = env[MOVED];
  if (moved === undefined) return;
  delete env[MOVED];
  if (moved === '' || env['NODE_EXTRA_CA_CERTS'] !== undefined) return;
  env['NODE_EXTRA_CA_CERTS'] = moved;
  deferred = moved;
}

/** The extra CA file that berth's own TLS connections must pass explicitly, if any. */
export const deferredExtraCaCerts = (): string | undefined => deferred;

/** OpenSSL's verdicts on a chain whose issuer is not among the trusted CAs. */
const UNTRUSTED_ISSUER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

/** Whether err, or an error it was caused by, says that the peer's certificate comes from an untrusted CA. Pure. */
export function untrustedIssuer(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && UNTRUSTED_ISSUER.has(code)) return true;
  }
  return false;
}

/**
 * connect() as is; when it fails on a certificate that no CA known to this
 * process vouches for and the extra CAs were deferred, once more with their
 * file. (A TLS option makes a client insist on TLS, so it is given only once
 * the server has shown that it speaks TLS.)
 */
export async function withDeferredCaCerts<T>(connect: (caFile?: string) => Promise<T>, caFile = deferredExtraCaCerts()): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    if (caFile === undefined || !untrustedIssuer(err)) throw err;
    return await connect(caFile);
  }
}

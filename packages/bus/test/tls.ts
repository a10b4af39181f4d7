// A throwaway CA with a server certificate for 127.0.0.1 and a client certificate (openssl), plus an unrelated CA.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary, run } from '../../testkit/src/process.js';

export interface TlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCaCert: string;
}

export async function makeTlsFiles(dir: string): Promise<TlsFiles> {
  const openssl = requireBinary('openssl');
  await mkdir(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ca = async (name: string) =>
    run(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name}`,
      '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`)]);
  await ca('berth-test-ca');
  await ca('other-ca');
  await run(openssl, ['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=127.0.0.1',
    '-keyout', f('server.key'), '-out', f('server.csr')]);
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await run(openssl, ['x509', '-req', '-in', f('server.csr'), '-CA', f('berth-test-ca.pem'), '-CAkey', f('berth-test-ca.key'),
    '-CAcreateserial', '-days', '2', '-sha256', '-extfile', f('server.ext'), '-out', f('server.pem')]);
  await writeFile(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  await run(openssl, ['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=berth-client',
    '-keyout', f('client.key'), '-out', f('client.csr')]);
  await run(openssl, ['x509', '-req', '-in', f('client.csr'), '-CA', f('berth-test-ca.pem'), '-CAkey', f('berth-test-ca.key'),
    '-CAcreateserial', '-days', '2', '-sha256', '-extfile', f('client.ext'), '-out', f('client.pem')]);
  return { clientCert: f('client.pem'), clientKey: f('client.key'), caCert: f('berth-test-ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), otherCaCert: f('other-ca.pem') };
}

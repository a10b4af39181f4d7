// A throwaway certificate authority and a server certificate it signed for
// 127.0.0.1, made with openssl, so a test registry can serve HTTPS that a
// client trusts only when it is given the CA.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary, run } from '../process.js';

export interface TestCertificates {
  /** The CA certificate (PEM file) a client must trust. */
  caFile: string;
  caPem: string;
  /** Server certificate (IP SAN 127.0.0.1) and its key, for the registry's http.tls. */
  certFile: string;
  keyFile: string;
}

/** Writes ca.pem, server.pem and server-key.pem (EC P-256, valid 2 days) into dir. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const openssl = requireBinary('openssl', 'apt-get install openssl');
  const caKey = join(dir, 'ca-key.pem');
  const caFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'server-key.pem');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.pem');
  const ext = join(dir, 'server-ext.cnf');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run(openssl, [
    'req', '-x509', ...ec, '-days', '2', '-subj', '/CN=berth test registry CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', caKey, '-out', caFile,
  ]);
  await run(openssl, ['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', keyFile, '-out', csr]);
  await writeFile(
    ext,
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  await run(openssl, [
    'x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-extfile', ext, '-out', certFile,
  ]);
  return { caFile, caPem: await readFile(caFile, 'utf8'), certFile, keyFile };
}

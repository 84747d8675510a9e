/**
 * A throwaway PKI for the secured test broker, made with `openssl`: a self-signed CA, a broker
 * certificate for 127.0.0.1 and localhost, a client certificate for mTLS, and an unrelated CA that
 * trusts none of them (the "wrong CA" case). Everything is PEM, as Kafka 4.x and Node read it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Paths of the PEM files (all in one directory). */
export interface TestCertificates {
  /** The CA that signed the broker's and the client's certificates. */
  caFile: string;
  /** A CA that signed nothing here: trusting only it must fail. */
  otherCaFile: string;
  /** The broker's private key followed by its certificate chain (a Kafka PEM keystore). */
  serverKeystoreFile: string;
  /** The client's certificate, for KAFKA_TLS_CERT_FILE. */
  clientCertFile: string;
  /** The client's private key, for KAFKA_TLS_KEY_FILE. */
  clientKeyFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function selfSignedCa(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=pairguard test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

/** A key and a certificate signed by the CA, with the given extensions (openssl x509 -extfile syntax). */
function signed(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  extensions: string[],
): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join('\n')}\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

/** Makes the files in `dir` (about a second of RSA key generation). */
export function makeTestCertificates(dir: string): TestCertificates {
  const ca = selfSignedCa(dir, 'ca');
  const other = selfSignedCa(dir, 'other-ca');
  const server = signed(dir, 'broker', ca, [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
    'keyUsage=critical,digitalSignature,keyEncipherment',
  ]);
  const client = signed(dir, 'pairguard-client', ca, [
    'extendedKeyUsage=clientAuth',
    'keyUsage=critical,digitalSignature,keyEncipherment',
  ]);
  const serverKeystoreFile = path.join(dir, 'broker-keystore.pem');
  // The chain a production broker sends: its own certificate, then the CA's.
  writeFileSync(
    serverKeystoreFile,
    readFileSync(server.key, 'utf8') + readFileSync(server.cert, 'utf8') + readFileSync(ca.cert, 'utf8'),
  );
  return {
    caFile: ca.cert,
    otherCaFile: other.cert,
    serverKeystoreFile,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
  };
}

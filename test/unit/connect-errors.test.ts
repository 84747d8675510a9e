/**
 * Which failed first connections name a setting, on errors built as kafkajs and ioredis build
 * them (the integration test test/integration/secured-cluster.test.ts meets the real ones).
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { redisConnectError } from '../../src/state/redis-connect.js';
import { kafkaConnectError } from '../../src/stream/connect-errors.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
// kafkajs's types declare no constructor arguments; at run time it takes the message, as here.
const KafkaJSSASLAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (
  message: string,
) => Error;

const sasl: Config = loadConfig({
  KAFKA_TLS: 'true',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'pg',
  KAFKA_SASL_PASSWORD: 'pw',
});
const plain: Config = loadConfig({});

/** A TLS failure after kafkajs's retries, as admin.connect() rejects with it. */
function afterRetries(message: string, code: string): Error {
  return new KafkaJSNumberOfRetriesExceeded(
    new KafkaJSConnectionError(`Connection error: ${message}`, { broker: 'b:9093', code } as never),
    { retryCount: 8, retryTime: 5000 },
  );
}

function message(err: unknown): string {
  expect(err).toBeInstanceOf(ConfigError);
  const text = (err as Error).message;
  expect(text).not.toContain('\n');
  return text;
}

describe('kafkaConnectError', () => {
  it('names the password when the broker rejects the login, with the mechanism and user', () => {
    const err = new KafkaJSSASLAuthenticationError(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    );
    expect(message(kafkaConnectError(err, sasl))).toBe(
      'invalid KAFKA_SASL_PASSWORD: the broker rejected SCRAM-SHA-512 authentication for user "pg"',
    );
  });

  it('names the mechanism when the listener does not enable it', () => {
    const err = new KafkaJSSASLAuthenticationError('SASL SCRAM-SHA-512 mechanism is not supported by the server');
    expect(message(kafkaConnectError(err, sasl))).toBe(
      'invalid KAFKA_SASL_MECHANISM: the broker does not enable SCRAM-SHA-512 on this listener',
    );
  });

  it("names the CA file for an untrusted broker certificate, without Node's advice", () => {
    const err = afterRetries(
      'unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
    expect(message(kafkaConnectError(err, sasl))).toBe(
      "invalid KAFKA_TLS_CA_FILE: the broker's certificate is not trusted by the system CAs (KAFKA_TLS_CA_FILE is not set) (unable to verify the first certificate)",
    );
  });

  it('names the brokers for a certificate that does not name the host', () => {
    const err = afterRetries(
      "Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: 127.0.0.1",
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    expect(message(kafkaConnectError(err, sasl))).toMatch(
      /^invalid KAFKA_BROKERS: the broker's certificate does not name the host connected to \(Hostname\/IP does not match/,
    );
  });

  it('names the client certificate when the broker refuses it', () => {
    const err = afterRetries(
      '40D8:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 48\n',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
    );
    const mtls = {
      ...sasl,
      kafkaTls: { caFile: null, ca: null, certFile: '/run/secrets/client.pem', cert: 'x', key: 'y' },
    };
    expect(message(kafkaConnectError(err, mtls))).toBe(
      'invalid KAFKA_TLS_CERT_FILE: the broker refused the client certificate in /run/secrets/client.pem (TLS alert: unknown ca)',
    );
  });

  it('passes through what no setting explains', () => {
    const refused = afterRetries('connect ECONNREFUSED 127.0.0.1:9092', 'ECONNREFUSED');
    expect(kafkaConnectError(refused, plain)).toBe(refused);
    const loading = new KafkaJSProtocolError({
      message: "The coordinator is loading and hence can't process requests",
      type: 'COORDINATOR_LOAD_IN_PROGRESS',
      code: 14,
      retriable: true,
    } as never);
    expect(kafkaConnectError(loading, sasl)).toBe(loading);
    // A SASL error without SASL configured is not about a password pairguard sent.
    const odd = new KafkaJSSASLAuthenticationError('SASL PLAIN authentication failed');
    expect(kafkaConnectError(odd, plain)).toBe(odd);
  });
});

describe('redisConnectError', () => {
  it('names REDIS_URL for a refused login or a missing password', () => {
    expect(message(redisConnectError(new Error('WRONGPASS invalid username-password pair or user is disabled.')))).toBe(
      'invalid REDIS_URL: Redis rejected its user and password (WRONGPASS)',
    );
    expect(message(redisConnectError(new Error('NOAUTH Authentication required.')))).toBe(
      'invalid REDIS_URL: Redis requires a password and the URL has none (NOAUTH)',
    );
    expect(
      message(redisConnectError(new Error("NOPERM this user has no permissions to run the 'client|setname' command"))),
    ).toMatch(
      /^invalid REDIS_URL: its Redis user lacks a permission pairguard needs \(NOPERM .*'client\|setname'.*README/,
    );
  });

  it('passes other errors through', () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    expect(redisConnectError(refused)).toBe(refused);
  });
});

/**
 * A first connection to Kafka that fails for a reason only a setting can fix (a password the
 * broker rejects, a broker certificate the CA does not vouch for, a client certificate the broker
 * refuses) becomes a ConfigError naming that setting, so start-up stops with one line a person can
 * act on. Anything else (a broker still starting, a network fault) is passed through unchanged.
 */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';

/** Node's codes for a peer certificate that does not chain to a trusted CA. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** TLS alerts a broker sends when it refuses the client's certificate (or its absence). */
const CLIENT_CERT_REFUSED =
  /alert (bad certificate|certificate required|unknown ca|certificate unknown|unsupported certificate)/i;

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  type?: string;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and its causes, outermost first (kafkajs wraps the last attempt's error in KafkaJSNumberOfRetriesExceeded). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  for (
    let e = err as ErrorLike | undefined;
    e && typeof e === 'object' && out.length < 8;
    e = (e.cause ?? e.originalError) as ErrorLike | undefined
  )
    out.push(e);
  return out;
}

/** The first line of Node's or kafkajs's reason, without the "Connection error: " prefix and Node's advice. */
function reason(e: ErrorLike): string {
  const first = (e.message ?? '').replace(/^Connection error: /, '').split('\n')[0]!;
  return first.split('; if the root CA')[0]!.trim();
}

/** Names the setting behind a failed first Kafka connection; returns `err` itself when no setting explains it. */
export function kafkaConnectError(err: unknown, config: Config): unknown {
  for (const e of chain(err)) {
    const sasl = config.kafkaSasl;
    if (sasl && (e.type === 'UNSUPPORTED_SASL_MECHANISM' || /mechanism is not supported/.test(e.message ?? ''))) {
      return new ConfigError(
        `invalid KAFKA_SASL_MECHANISM: the broker does not enable ${sasl.mechanism.toUpperCase()} on this listener`,
      );
    }
    if (sasl && (e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED')) {
      return new ConfigError(
        `invalid KAFKA_SASL_PASSWORD: the broker rejected ${sasl.mechanism.toUpperCase()} authentication for user ${JSON.stringify(sasl.username)}`,
      );
    }
    if (e.code && UNTRUSTED.has(e.code)) {
      const ca = config.kafkaTls?.caFile
        ? `the CA in ${config.kafkaTls.caFile}`
        : 'the system CAs (KAFKA_TLS_CA_FILE is not set)';
      return new ConfigError(
        `invalid KAFKA_TLS_CA_FILE: the broker's certificate is not trusted by ${ca} (${reason(e)})`,
      );
    }
    if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return new ConfigError(
        `invalid KAFKA_BROKERS: the broker's certificate does not name the host connected to (${reason(e)})`,
      );
    if (CLIENT_CERT_REFUSED.test(e.message ?? '')) {
      const what = config.kafkaTls?.certFile
        ? `refused the client certificate in ${config.kafkaTls.certFile}`
        : 'requires a client certificate and none is set';
      const alert = /alert ([a-z ]+)/i.exec(e.message ?? '')?.[1]?.trim() ?? 'TLS alert';
      return new ConfigError(`invalid KAFKA_TLS_CERT_FILE: the broker ${what} (TLS alert: ${alert})`);
    }
  }
  return err;
}

/** Connects a kafkajs client (admin, producer or consumer), naming the setting to fix when one explains a failure. */
export async function connectKafka(client: { connect(): Promise<void> }, config: Config): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    throw kafkaConnectError(err, config);
  }
}

/** The one place a kafkajs client is built from configuration (brokers, TLS, SASL, logging). */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from 'pino';
import { registerCodecs } from './codecs.js';
import { kafkaLogCreator } from './kafka-log.js';

export function createKafka(config: Config, logger: Logger, clientSuffix = ''): Kafka {
  registerCodecs();
  const options: KafkaConfig = {
    clientId: `${config.kafkaClientId}${clientSuffix}`,
    brokers: config.kafkaBrokers,
    logCreator: kafkaLogCreator(logger),
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  };
  const tls = config.kafkaTls;
  // Node's tls.connect options: the CA replaces the system ones; cert and key answer a broker that asks for a client certificate.
  if (tls)
    options.ssl = {
      ...(tls.ca ? { ca: [tls.ca] } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    };
  // kafkajs types each mechanism separately; ours are exactly its plain and SCRAM ones.
  if (config.kafkaSasl) options.sasl = { ...config.kafkaSasl } as SASLOptions;
  return new Kafka(options);
}

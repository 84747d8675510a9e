/**
 * The demo producer of the docker-compose `demo` profile: streams syntheticTraffic() into the
 * input topics at a steady rate, printing a line per violation it plants.
 *
 *   node dist/demo/producer.js [--rate 20] [--violation-every 25] [--malformed-every 60] [--seconds 0]
 *
 * Kafka and topic names come from the same environment as `pairguard run` (src/config.ts).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka } from 'kafkajs';
import { loadConfig } from '../config.js';
import { createLogger, kafkaLogCreator } from '../observability/logger.js';
import { ensureTopics } from '../stream/topics.js';
import { syntheticTraffic } from './traffic.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    'violation-every': { type: 'string', default: '25' },
    'malformed-every': { type: 'string', default: '60' },
    seconds: { type: 'string', default: '0' },
  },
});
const positive = (name: keyof typeof values, min: number) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`demo producer: --${name} must be a number >= ${min}\n`);
    process.exit(2);
  }
  return n;
};
const rate = positive('rate', 0.1);
const violationEvery = positive('violation-every', 2);
const malformedEvery = positive('malformed-every', 2);
const seconds = positive('seconds', 0);

const config = loadConfig();
const logger = createLogger('info').child({ component: 'demo-producer' });
const kafka = new Kafka({
  clientId: 'pairguard-demo-producer',
  brokers: config.kafkaBrokers,
  logCreator: kafkaLogCreator(logger),
});
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, config.topics, config.createTopicsPartitions);
await admin.disconnect();
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopping = true));

const run = randomBytes(3).toString('hex');
const started = Date.now();
let sent = 0;
logger.info({ rate, violationEvery, malformedEvery, run }, 'demo producer started');
for (const scene of syntheticTraffic({ run, violationEvery, malformedEvery })) {
  if (stopping || (seconds > 0 && Date.now() - started >= seconds * 1000)) break;
  // One record at a time, in scene order: approvals before the chat that relies on them.
  for (const r of scene.records)
    await producer.send({ topic: config.topics[r.role], messages: [{ key: r.key, value: r.value }] });
  sent += scene.records.length;
  if (scene.kind !== 'allowed') logger.info({ kind: scene.kind }, scene.story);
  // Keep to the rate: sleep until this many records are due.
  const due = started + (sent / rate) * 1000;
  if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
}
await producer.disconnect();
logger.info({ sent }, 'demo producer stopped');

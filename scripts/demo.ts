/**
 * `npm run demo`: the monitor on the local default setup (topics kids.*, Redis db 0, HTTP 9464),
 * fed a small stream with the 2019 group-chat flaw and a revocation, printing alerts and freezes as
 * they land. Ids carry a run suffix so every run shows fresh alerts. Ctrl-C stops it.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { Monitor } from '../src/monitor.js';
import { createLogger } from '../src/observability/logger.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
// A local demo: it creates its input topics, and topics left by older runs that keep less history
// than a platform's must only warn (README, Topics).
process.env.PAIRGUARD_CREATE_INPUT_TOPICS ??= 'true';
process.env.PAIRGUARD_TOPIC_PRECONDITIONS ??= 'warn';
const config = loadConfig();
const run = randomBytes(2).toString('hex');
const id = (s: string) => `${s}-${run}`;
let n = 0;
const ev = (type: string, fields: Record<string, unknown>) => ({
  type,
  eventId: id(`demo-${++n}`),
  occurredAt: new Date().toISOString(),
  ...fields,
});

const [alice, bob, carol, mum] = ['alice', 'bob', 'carol', 'mum'].map(id) as [string, string, string, string];
const steps: Array<{ say: string; topic: keyof typeof config.topics; key: string; events: object[] }> = [
  {
    say: `${alice}, ${bob} and ${carol} are children; ${alice}'s parents approved ${bob} and ${carol}; ${bob}'s parents approved only ${alice}.`,
    topic: 'approvals',
    key: alice,
    events: [
      ...[alice, bob, carol].map((u) => ev('user.registered', { userId: u, role: 'child' })),
      ev('user.registered', { userId: mum, role: 'adult' }),
      ...[
        [alice, bob],
        [bob, alice],
        [alice, carol],
        [carol, alice],
        [alice, mum],
      ].map(([c, x]) => ev('contact.approved', { childId: c, contactId: x, approvedBy: `${c}-parent` })),
    ],
  },
  {
    say: `${alice} starts a chat with ${mum}: allowed.`,
    topic: 'membership',
    key: id('family'),
    events: [ev('chat.created', { chatId: id('family'), createdBy: alice, members: [alice, mum] })],
  },
  {
    say: `${alice} starts a group with ${bob} and ${carol} (the 2019 flaw: ${bob} and ${carol} never approved each other).`,
    topic: 'membership',
    key: id('group'),
    events: [ev('chat.created', { chatId: id('group'), createdBy: alice, members: [alice, bob, carol] })],
  },
  {
    say: `${alice}'s parents revoke their approval of ${mum}, who is still in a chat with ${alice}.`,
    topic: 'approvals',
    key: alice,
    events: [ev('contact.revoked', { childId: alice, contactId: mum, revokedBy: `${alice}-parent` })],
  },
];

const logger = createLogger('warn');
const monitor = await Monitor.start({ config, logger });
const kafka = new Kafka({ clientId: 'pairguard-demo', brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING });
const tail = kafka.consumer({ groupId: `pairguard-demo-${run}` });
await tail.connect();
await tail.subscribe({ topics: [config.topics.alerts, config.topics.control], fromBeginning: false });
await tail.run({
  eachMessage: async ({ topic, message }) => {
    const v = JSON.parse(message.value!.toString()) as Record<string, unknown>;
    if (!String(v.chatId).endsWith(run)) return;
    if (topic === config.topics.alerts) {
      const missing = (v.missing as Array<{ childId: string; contactId: string }>)
        .map((m) => `${m.childId} never approved ${m.contactId}`)
        .join('; ');
      process.stdout.write(`  ALERT  ${v.chatId}: ${(v.pair as string[]).join(' + ')} (${missing}) → ${v.action}\n`);
    } else if (v.type === 'chat.freeze') {
      process.stdout.write(`  FREEZE ${v.chatId} (alert ${v.alertId})\n`);
    }
  },
});
// Let the tail consumer join before anything is written, so it sees every output.
await new Promise((r) => setTimeout(r, 3000));

const producer = kafka.producer();
await producer.connect();
for (const step of steps) {
  process.stdout.write(`\n${step.say}\n`);
  await producer.send({
    topic: config.topics[step.topic],
    messages: step.events.map((e) => ({ key: step.key, value: JSON.stringify(e) })),
  });
  await new Promise((r) => setTimeout(r, 1500));
}
await producer.disconnect();
process.stdout.write(
  `\nThe monitor keeps running: metrics on http://127.0.0.1:${monitor.httpPort}/metrics, readiness on /readyz. Ctrl-C stops it.\n`,
);

const stop = async () => {
  await tail.disconnect().catch(() => undefined);
  await monitor.stop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

/**
 * The README's Kafka ACLs, run as written by Kafka's own AclCommand on a private broker with the
 * KRaft StandardAuthorizer and SASL: pairguard, holding only those ACLs, judges and freezes the
 * 2019 flaw; a principal without them cannot write a chat.unfrozen. Then the readiness promise:
 * a consumer kafkajs does not restart (its group's READ revoked, a non-retriable error) makes
 * /readyz answer 503 naming it, the supervisor rebuilds it once the ACL is back, and nothing
 * produced meanwhile is lost: the flaw is alerted and frozen exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import { replayFile } from '../../src/cli/replay.js';
import { DEFAULT_TOPICS } from '../../src/config.js';
import type { Monitor } from '../../src/monitor.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';
import { kafkaAclsBin } from '../support/kafka-acl-command.js';
import { PrivateBroker, SASL_USERS } from '../support/private-broker.js';

/** The README's broker settings; the test's own admin connects over PLAINTEXT as ANONYMOUS, the super user. */
const AUTHORIZER = [
  'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'super.users=User:ANONYMOUS',
  'allow.everyone.if.no.acl.found=false',
];

let broker: PrivateBroker;
let bin: string;
let work: string;
let env: TestEnv | null = null;

beforeAll(async () => {
  [bin, broker] = await Promise.all([kafkaAclsBin(), PrivateBroker.create({ secured: true, properties: AUTHORIZER })]);
  work = mkdtempSync(path.join(tmpdir(), 'pairguard-acls-'));
  // The admin's client settings: none over PLAINTEXT.
  writeFileSync(path.join(work, 'admin.properties'), '');
}, 300_000);

afterAll(async () => {
  await env?.cleanup();
  await broker?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The first sh block of the README's "Kafka ACLs" section. */
function readmeAclCommands(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Kafka ACLs'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no sh block under "### Kafka ACLs" in README.md');
  return block;
}

function sh(script: string): string {
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: work,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, KAFKA: broker.brokers },
    encoding: 'utf8',
    timeout: 300_000,
  });
}
const acls = (args: string) =>
  sh(`kafka-acls.sh --bootstrap-server "$KAFKA" --command-config admin.properties ${args}`);

const saslClient = (user: keyof typeof SASL_USERS) =>
  new Kafka({
    clientId: `acl-test-${user}`,
    brokers: [broker.secured!.saslSsl],
    ssl: { ca: [readFileSync(broker.secured!.certificates.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-256', username: user, password: SASL_USERS[user] },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });

const readyz = async (m: Monitor) => {
  const res = await fetch(`http://127.0.0.1:${m.httpPort}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; reason?: string; consumers: Record<string, string> },
  };
};

it(
  'the README ACLs are all pairguard needs, only the listed principals write the control topic, and a consumer stopped by a revoked ACL is reported, rebuilt and loses nothing',
  { timeout: 400_000 },
  async () => {
    sh(readmeAclCommands());
    const writers = acls(`--list --topic ${DEFAULT_TOPICS.control}`)
      .split('\n')
      .flatMap((l) => /principal=User:([^,]+), host=\*, operation=WRITE, permissionType=ALLOW/.exec(l)?.[1] ?? []);
    expect(writers.sort()).toEqual(['freeze-service', 'pairguard', 'review-tool']);

    env = await createTestEnv({
      brokers: [broker.brokers],
      env: {
        KAFKA_BROKERS: broker.secured!.saslSsl,
        KAFKA_TLS_CA_FILE: broker.secured!.certificates.caFile,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'pairguard',
        KAFKA_SASL_PASSWORD: SASL_USERS.pairguard,
        TOPIC_APPROVALS: DEFAULT_TOPICS.approvals,
        TOPIC_MEMBERSHIP: DEFAULT_TOPICS.membership,
        TOPIC_MESSAGES: DEFAULT_TOPICS.messages,
        TOPIC_ALERTS: DEFAULT_TOPICS.alerts,
        TOPIC_CONTROL: DEFAULT_TOPICS.control,
        TOPIC_DEAD_LETTER: DEFAULT_TOPICS.deadLetter,
        PAIRGUARD_GROUP_ID: 'pairguard',
      },
    });
    const monitor = await env.startMonitor();
    await waitFor('readiness', async () => (await readyz(monitor)).status === 200, 60_000);

    // A principal with no ACL cannot unfreeze a chat.
    const other = saslClient('other').producer();
    await other.connect();
    const unfreeze = { type: 'chat.unfrozen', chatId: 'group-1', by: 'intruder', occurredAt: new Date().toISOString() };
    await expect(
      other.send({ topic: DEFAULT_TOPICS.control, messages: [{ key: 'group-1', value: JSON.stringify(unfreeze) }] }),
    ).rejects.toThrow(/authoriz/i);
    await other.disconnect();

    // The membership consumer's group loses its READ: kafkajs stops it for good (not retriable).
    const groupAcl = '--allow-principal User:pairguard --operation Read --operation Describe --group pairguard';
    acls(`--remove --force ${groupAcl}`);
    const down = await waitFor(
      'membership reported stopped',
      async () => {
        const r = await readyz(monitor);
        return r.body.consumers.membership?.startsWith('stopped: ') ? r : null;
      },
      120_000,
    );
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not-ready');
    expect(down.body.reason).toContain('consumer stopped: membership: ');
    expect(down.body.consumers.approvals).toBe('running');
    const crashes = env.logs.lines().filter((l) => l.msg === 'consumer crashed' && l.restart === false);
    expect(crashes.map((l) => l.consumer)).toContain('membership');

    // Produced while membership is down; judged once it is back.
    await replayFile({
      kafka: env.kafka,
      topics: env.config.topics,
      file: 'test/fixtures/flaw-2019.jsonl',
      createPartitions: 0,
      progress: false,
    });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await readTopic(env.admin, env.config.topics.alerts, env.kafka)).toEqual([]);
    expect((await readyz(monitor)).body.consumers.membership).toMatch(/^stopped: /);

    acls(`--add ${groupAcl}`);
    const restoredAt = Date.now();
    await waitFor(
      'every consumer running',
      async () => {
        const r = await readyz(monitor);
        return r.status === 200 && Object.values(r.body.consumers).every((s) => s === 'running');
      },
      120_000,
    );
    const recoverySeconds = (Date.now() - restoredAt) / 1000;
    expect(
      env.logs.lines().some((l) => l.msg === 'consumer restarted, rejoining its group' && l.consumer === 'membership'),
    ).toBe(true);

    await waitUntilConsumed(env, 120_000);
    const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts, env.kafka);
    const control = await readTopic<FreezeCommand | { type: string }>(env.admin, env.config.topics.control, env.kafka);
    expect(alerts.map((a) => [a.value.chatId, a.value.pair, a.value.trigger.eventId, a.value.action])).toEqual([
      ['group-1', ['bob', 'carol'], 'flaw-2019-8', 'frozen'],
    ]);
    expect(
      control.filter((r) => r.value.type === 'chat.freeze').map((r) => [r.key, (r.value as FreezeCommand).alertId]),
    ).toEqual([['group-1', alerts[0]!.value.alertId]]);
    expect(control.filter((r) => r.value.type === 'chat.unfrozen')).toEqual([]);
    console.info(
      JSON.stringify({
        test: 'kafka-acls-and-readiness',
        controlWriters: writers,
        stoppedBy: crashes.find((l) => l.consumer === 'membership')?.err,
        recoverySeconds,
      }),
    );
  },
);

/**
 * Topics written by transactional producers (Kafka Streams, Flink sinks, outbox relays), with
 * Kafka's own Java client: committed records are judged, aborted ones never, and the markers each
 * transaction leaves (an offset of their own) never hold the ordering barrier.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, readTopic, waitUntilConsumed } from '../support/harness.js';
import { produceWithJava, recordsOfLines } from '../support/kafka-java.js';

let env: TestEnv;
afterEach(async () => env?.cleanup());

const flaw = readFileSync('test/fixtures/flaw-2019.jsonl', 'utf8').trim().split('\n');
const approvalsOf = (lines: string[]) => lines.filter((l) => /"(user\.registered|contact\.approved)"/.test(l));
const ev = (type: string, id: string, body: Record<string, unknown>) =>
  JSON.stringify({ type, eventId: id, occurredAt: '2026-11-21T09:00:01.500Z', ...body });

describe('transactional topics', () => {
  it.each([1, 3])(
    'judge committed transactions, ignore aborted ones, and never stall on markers (%i partitions)',
    async (partitions) => {
      env = await createTestEnv({ partitions, env: { PAIRGUARD_APPROVAL_CATCHUP_WARN_MS: '1000' } });
      const brokers = env.config.kafkaBrokers.join(',');
      const txn = (id: string) => ({ 'transactional.id': `${env.id}-${id}`, 'compression.type': 'lz4' });
      const records = (lines: string[]) => recordsOfLines(lines, env.config.topics, env.id);

      // Committed: the three children and the approvals alice has with bob and with carol.
      await produceWithJava(brokers, records(approvalsOf(flaw)), txn('approvals'));
      // Aborted: the approvals that would have made bob and carol contacts. They must not count.
      await produceWithJava(
        brokers,
        records([
          ev('contact.approved', 'aborted-1', { childId: 'bob', contactId: 'carol', approvedBy: 'bob-parent' }),
          ev('contact.approved', 'aborted-2', { childId: 'carol', contactId: 'bob', approvedBy: 'carol-parent' }),
        ]),
        txn('approvals'),
        { abort: true },
      );
      // Aborted: a group that would be a violation. It must never be judged.
      await produceWithJava(
        brokers,
        records([
          ev('chat.created', 'aborted-3', {
            chatId: 'group-aborted',
            createdBy: 'alice',
            members: ['alice', 'bob', 'carol'],
          }),
        ]),
        txn('membership'),
        { abort: true },
      );
      // Committed: the 2019 group and its messages, in one transaction over two topics.
      await produceWithJava(
        brokers,
        records(flaw.filter((l) => /"(chat\.created|message\.sent)"/.test(l))),
        txn('membership'),
      );

      await env.startMonitor();
      await waitUntilConsumed(env);
      const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
      expect(alerts.map((a) => [a.key, a.value.pair, a.value.trigger.eventId])).toEqual([
        ['group-1', ['bob', 'carol'], 'flaw-2019-8'],
      ]);
      const freezes = await readTopic<FreezeCommand>(env.admin, env.config.topics.control);
      expect(freezes.filter((f) => f.value.type === 'chat.freeze').map((f) => f.key)).toEqual(['group-1']);
      // The barrier never waited long enough to warn: the markers were counted as done.
      expect(env.logs.lines().filter((l) => l.msg === 'judging waits for the state it depends on to catch up')).toEqual(
        [],
      );
      // The applied marks reach each partition's read-committed end, markers included.
      for (const topic of [env.config.topics.approvals, env.config.topics.membership]) {
        const applied = await env.redis.hgetall(`${env.config.redisKeyPrefix}applied:{${topic}}`);
        const ends = await env.admin.fetchTopicOffsets(topic);
        const nonEmpty = ends.filter((p) => p.high !== '0');
        expect(nonEmpty.length).toBeGreaterThan(0);
        for (const e of nonEmpty) expect([e.partition, applied[String(e.partition)]]).toEqual([e.partition, e.high]);
      }
    },
  );
});

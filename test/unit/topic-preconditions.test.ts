import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '../../src/config.js';
import type { TopicFacts } from '../../src/stream/topic-preconditions.js';
import { KEEP_HISTORY, judgeTopics } from '../../src/stream/topic-preconditions.js';

const BROKER_DEFAULTS = {
  'retention.ms': '604800000',
  'retention.bytes': '-1',
  'cleanup.policy': 'delete',
  'min.insync.replicas': '1',
};

/** Every topic present, 3 partitions, 3 replicas, history topics keeping everything. */
function healthy(): Map<string, TopicFacts> {
  const history = new Set<string>([
    DEFAULT_TOPICS.approvals,
    DEFAULT_TOPICS.membership,
    DEFAULT_TOPICS.control,
    DEFAULT_TOPICS.alerts,
  ]);
  return new Map(
    Object.values(DEFAULT_TOPICS).map((topic) => [
      topic,
      {
        topic,
        partitions: 3,
        replicationFactor: 3,
        configs: history.has(topic)
          ? { ...BROKER_DEFAULTS, ...KEEP_HISTORY, 'min.insync.replicas': '2' }
          : { ...BROKER_DEFAULTS, 'min.insync.replicas': '2' },
      },
    ]),
  );
}

function withConfig(facts: Map<string, TopicFacts>, topic: string, configs: Record<string, string>) {
  const f = facts.get(topic)!;
  facts.set(topic, { ...f, configs: { ...f.configs, ...configs } });
  return facts;
}

describe('topic preconditions', () => {
  it('passes topics that keep the history the state is rebuilt from, and reports every topic', () => {
    const report = judgeTopics(DEFAULT_TOPICS, healthy());
    expect(report.violations).toEqual([]);
    expect(report.topics).toHaveLength(6);
    expect(report.topics.find((t) => t.role === 'approvals')).toMatchObject({
      topic: 'kids.approvals',
      partitions: 3,
      replicationFactor: 3,
      minInsyncReplicas: 2,
      retentionMs: '-1',
    });
  });

  it('refuses a missing input topic, naming it and its setting; missing output topics are created, not refused', () => {
    const facts = healthy();
    facts.delete('kids.approvals');
    facts.delete('pairguard.alerts');
    const { violations } = judgeTopics(DEFAULT_TOPICS, facts);
    expect(violations.map((v) => v.topic)).toEqual(['kids.approvals']);
    expect(violations[0]!.kind).toBe('missing');
    expect(violations[0]!.message).toMatch(/^input topic kids\.approvals \(TOPIC_APPROVALS\) does not exist/);
    expect(violations[0]!.message).toContain('PAIRGUARD_CREATE_INPUT_TOPICS=true');
    expect(violations[0]!.message).not.toContain('\n');
  });

  it.each([
    ['retention.ms', { 'retention.ms': '604800000' }, /deletes records after 7 days \(retention\.ms=604800000\)/],
    ['retention.bytes', { 'retention.bytes': '1073741824' }, /beyond 1073741824 bytes a partition/],
    ['compaction', { 'cleanup.policy': 'compact' }, /is compacted \(cleanup\.policy=compact\)/],
    ['compaction with deletion', { 'cleanup.policy': 'compact,delete' }, /is compacted/],
  ])('refuses a history topic that loses records by %s', (_name, configs, reason) => {
    const { violations } = judgeTopics(DEFAULT_TOPICS, withConfig(healthy(), 'kids.membership', configs));
    expect(violations).toHaveLength(1);
    expect(violations[0]!.message).toMatch(/^input topic kids\.membership \(TOPIC_MEMBERSHIP\) /);
    expect(violations[0]!.message).toMatch(reason);
    expect(violations[0]!.message).toContain('PAIRGUARD_TOPIC_PRECONDITIONS=warn');
  });

  it('refuses an alerts topic that deletes records: a rebuild reads back what was written', () => {
    const { violations } = judgeTopics(
      DEFAULT_TOPICS,
      withConfig(healthy(), 'pairguard.alerts', { 'retention.ms': '604800000' }),
    );
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /^output topic pairguard\.alerts \(TOPIC_ALERTS\) deletes records after 7 days .*reads back the alerts already written/,
      ),
    ]);
  });

  it('lets the messages and dead-letter topics keep a finite retention: a rebuild reads neither', () => {
    const facts = withConfig(healthy(), 'kids.messages', { 'retention.ms': '86400000' });
    withConfig(facts, 'pairguard.dead-letter', { 'retention.ms': '86400000' });
    expect(judgeTopics(DEFAULT_TOPICS, facts).violations).toEqual([]);
  });

  it('refuses an output topic whose replicas cannot satisfy its min.insync.replicas (every write refused)', () => {
    const facts = healthy();
    facts.set('pairguard.alerts', { ...facts.get('pairguard.alerts')!, replicationFactor: 1 });
    const { violations } = judgeTopics(DEFAULT_TOPICS, facts);
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /^output topic pairguard\.alerts \(TOPIC_ALERTS\) has 1 replica\(s\) but min\.insync\.replicas=2/,
      ),
    ]);
  });

  it('judges a topic used for two roles once per role, naming each setting', () => {
    const topics = { ...DEFAULT_TOPICS, membership: 'kids.approvals' };
    const facts = withConfig(healthy(), 'kids.approvals', { 'retention.ms': '1000' });
    const { violations } = judgeTopics(topics, facts);
    expect(violations.map((v) => v.message.split(')')[0])).toEqual([
      'input topic kids.approvals (TOPIC_APPROVALS',
      'input topic kids.approvals (TOPIC_MEMBERSHIP',
    ]);
  });
});

/**
 * Start-up on topics that cannot carry pairguard's promises: a mistyped input topic, a history topic
 * that deletes records after the broker's default seven days. pairguard refuses to start with one
 * line naming the topic and the setting, creates nothing it was not asked to, and starts (warning)
 * when told the topics are a local demo's.
 */
import { ConfigResourceTypes } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { PairguardError } from '../../src/errors.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, topicsWithPrefix } from '../support/harness.js';
import { freePort, processEnv, runToEnd } from '../support/process.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

const SEVEN_DAYS = String(7 * 24 * 3600 * 1000);

async function topicConfig(e: TestEnv, topic: string): Promise<Record<string, string>> {
  const { resources } = await e.admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
  });
  return Object.fromEntries(resources[0]!.configEntries.map((c) => [c.configName, c.configValue]));
}

describe('topic preconditions at start-up', () => {
  it('a mistyped input topic stops `pairguard run` with one line naming it and TOPIC_APPROVALS, creating nothing', async () => {
    env = await createTestEnv({ partitions: 1 });
    const typo = `${env.config.topics.approvals}z`;
    const run = await runToEnd(['run'], processEnv(env, await freePort(), { TOPIC_APPROVALS: typo }));
    expect(run.code).toBe(2);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('pairguard: '));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^pairguard: input topic ${typo} \\(TOPIC_APPROVALS\\) does not exist`)),
    ]);
    expect(await topicsWithPrefix(typo)).toEqual([]);
  });

  it('a history topic that deletes records after 7 days is refused, naming TOPIC_MEMBERSHIP and retention.ms; warn mode starts', async () => {
    env = await createTestEnv({ partitions: 1 });
    const membership = env.config.topics.membership;
    expect(await topicConfig(env, membership)).toMatchObject({ 'retention.ms': '-1', 'cleanup.policy': 'delete' });
    await env.admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: membership,
          configEntries: [{ name: 'retention.ms', value: SEVEN_DAYS }],
        },
      ],
    });

    const refused = await env.startMonitor().then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(PairguardError);
    expect((refused as PairguardError).code).toBe('TOPIC_PRECONDITION');
    expect((refused as Error).message).toMatch(
      new RegExp(
        `^input topic ${membership} \\(TOPIC_MEMBERSHIP\\) deletes records after 7 days \\(retention\\.ms=${SEVEN_DAYS}\\)`,
      ),
    );
    expect((refused as Error).message).not.toContain('\n');

    const m = await env.startMonitor({ topicPreconditions: 'warn' });
    expect(m.notReadyReason()).not.toBe('shutting down');
    const warned = env.logs.lines().filter((l) => l.level === 40 && String(l.msg).includes('(TOPIC_MEMBERSHIP)'));
    expect(warned).toHaveLength(1);
    const checked = env.logs.lines().find((l) => l.msg === 'topics checked');
    expect(checked?.topics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          role: 'membership',
          topic: membership,
          retentionMs: SEVEN_DAYS,
          replicationFactor: 1,
        }),
      ]),
    );
  });

  it('PAIRGUARD_CREATE_INPUT_TOPICS creates missing inputs, the history topics keeping every record', async () => {
    env = await createTestEnv({ partitions: 1 });
    const fresh = {
      ...env.config.topics,
      approvals: `${env.id}.fresh-approvals`,
      messages: `${env.id}.fresh-messages`,
    };
    const m = await env.startMonitor({ topics: fresh, createInputTopics: true });
    try {
      expect(await topicConfig(env, fresh.approvals)).toMatchObject({
        'retention.ms': '-1',
        'cleanup.policy': 'delete',
      });
      expect((await topicConfig(env, fresh.messages))['retention.ms']).not.toBe('-1');
    } finally {
      await m.stop();
      await env.admin.deleteTopics({ topics: [fresh.approvals, fresh.messages] });
    }
  });
});

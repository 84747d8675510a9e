/**
 * The topics, before anything is judged: output topics created when missing, input topics only
 * when asked (PAIRGUARD_CREATE_INPUT_TOPICS, for local demos), then every topic held to the
 * preconditions of stream/topic-preconditions.ts.
 */
import type { Admin } from 'kafkajs';
import type { Config, TopicRole } from '../config.js';
import { PairguardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { OUTPUT_TOPICS, describeTopics, judgeTopics } from '../stream/topic-preconditions.js';
import { ensureTopics } from '../stream/topics.js';

export async function prepareTopics(admin: Admin, config: Config, logger: Logger): Promise<void> {
  const roles = config.createInputTopics ? (Object.keys(config.topics) as TopicRole[]) : OUTPUT_TOPICS;
  const created = await ensureTopics(admin, config.topics, config.createTopicsPartitions, roles);
  if (created.length > 0) logger.info({ topics: created }, 'created missing topics');

  const described = await describeTopics(admin, config.topics).catch((err: Error) => {
    throw new PairguardError(
      'TOPIC_PRECONDITION',
      `cannot read the topics' configs to check them (${err.message}): pairguard's Kafka principal needs DESCRIBE and DESCRIBE_CONFIGS on its topics (README, Kafka ACLs)`,
      { cause: err },
    );
  });
  const report = judgeTopics(config.topics, described);
  logger.info({ topics: report.topics }, 'topics checked');
  // A missing input topic stops start-up in either mode: there would be nothing to judge from it.
  const fatal =
    config.topicPreconditions === 'enforce' ? report.violations : report.violations.filter((v) => v.kind === 'missing');
  for (const v of report.violations) {
    if (!fatal.includes(v)) logger.warn({ topic: v.topic, role: v.role }, v.message);
  }
  if (fatal.length === 0) return;
  const more =
    fatal.length > 1
      ? ` (and ${fatal.length - 1} more: ${fatal
          .slice(1)
          .map((v) => v.topic)
          .join(', ')})`
      : '';
  throw new PairguardError('TOPIC_PRECONDITION', `${fatal[0]!.message}${more}`);
}

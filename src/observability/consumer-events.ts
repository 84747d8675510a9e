/**
 * A kafkajs consumer's life as on-call sees it: one log line and one metric per group join,
 * rebalance and crash. kafkajs reports these as instrumentation events; nothing here polls.
 */
import type { Consumer } from 'kafkajs';
import type { Assignment } from '../stream/assignment.js';
import type { ConsumerName } from '../stream/consumer-groups.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface ConsumerWatch {
  /** Which of pairguard's consumers this is (a metric label). */
  name: ConsumerName;
  /** The topics it subscribes to. */
  topics: readonly string[];
  /** Where join, rebalance and crash lines go. */
  logger: Logger;
  /** The monitor's metrics (rebalances, crashes, assigned partitions, lag positions). */
  metrics: Metrics;
  /** Called with the partitions this process owns after each group join. */
  onAssigned: (assignment: Assignment) => void;
  /** Called when kafkajs gives up on the consumer (a crash it will not restart). */
  onStopped: (reason: string, error: Error) => void;
}

export function watchConsumer(consumer: Consumer, w: ConsumerWatch): void {
  const { name: consumerName, logger, metrics } = w;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assignment: Assignment = e.payload.memberAssignment;
    const owned = w.topics.reduce((n, t) => n + (assignment[t]?.length ?? 0), 0);
    metrics.assignedPartitions.set({ consumer: consumerName }, owned);
    // Partitions that moved to another instance are that instance's to report from now on.
    metrics.lag.assigned(w.topics, assignment);
    w.onAssigned(assignment);
    logger.info(
      {
        consumer: consumerName,
        groupId: e.payload.groupId,
        memberAssignment: assignment,
        durationMs: e.payload.duration,
      },
      'joined consumer group',
    );
  });
  consumer.on(consumer.events.REBALANCING, (e) => {
    metrics.rebalances.inc({ consumer: consumerName });
    logger.info({ consumer: consumerName, groupId: e.payload.groupId }, 'consumer group rebalancing');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    const { restart, error } = e.payload;
    metrics.consumerCrashes.inc({ consumer: consumerName, restart: String(restart) });
    logger.error(
      { consumer: consumerName, groupId: e.payload.groupId, err: error?.message, restart },
      'consumer crashed',
    );
    if (!restart) w.onStopped(`${consumerName}: ${error?.message}`, error ?? new Error('unknown'));
  });
}

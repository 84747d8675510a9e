/**
 * `pairguard breaker status` and `pairguard breaker reset`: what a person on call needs once the
 * freeze breaker (state/freeze-breaker.ts) has tripped. Status reads the breaker's shared state
 * in Redis; reset writes a `freeze-breaker.reset` record to the control topic, which the running
 * monitor applies (in order with the unfreezes), so the reset is on record like every other
 * decision about freezes.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { BreakerState } from '../state/freeze-breaker.js';
import { RedisFreezeBreaker } from '../state/redis-breaker.js';
import { createRedis } from '../state/redis-client.js';

/** The Kafka key of reset records on the control topic. */
export const BREAKER_KEY = 'freeze-breaker';

/** The breaker's state, or null when it is off (PAIRGUARD_FREEZE_BUDGET=0). */
export async function breakerStatus(cfg: Config, now = Date.now()): Promise<BreakerState | null> {
  if (cfg.freezeBudget === 0) return null;
  const redis = createRedis(cfg.redisUrl, { connectionName: 'pairguard-breaker' });
  try {
    return await new RedisFreezeBreaker(
      redis,
      cfg.redisKeyPrefix,
      cfg.freezeBudget,
      cfg.freezeBudgetWindowSeconds * 1000,
    ).state(now);
  } finally {
    redis.disconnect();
  }
}

export function describeBreaker(state: BreakerState | null): string {
  if (!state) return 'the freeze breaker is off (PAIRGUARD_FREEZE_BUDGET=0): automatic freezes are not capped\n';
  const window = `${state.frozenInWindow} of ${state.limit} chats frozen in the last ${state.windowMs / 1000} s`;
  if (!state.open) return `the freeze breaker is closed: automatic freezes go through (${window})\n`;
  const lines = [
    `the freeze breaker is OPEN since ${new Date(state.trippedAt!).toISOString()}: violations are alerted, not frozen (${window})`,
    `${state.withheld.length} freezes withheld; \`pairguard breaker reset --by <you>\` applies those whose violation still stands:`,
    ...state.withheld.map((w) => `  ${new Date(w.at).toISOString()}  chat ${w.chatId}  alert ${w.alertId}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Writes the reset record; the monitor closes the breaker when it reads it. */
export async function requestBreakerReset(
  kafka: Kafka,
  cfg: Config,
  by: string,
  now = Date.now(),
): Promise<{ topic: string; occurredAt: string }> {
  const occurredAt = new Date(now).toISOString();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: cfg.topics.control,
      acks: -1,
      messages: [{ key: BREAKER_KEY, value: JSON.stringify({ type: 'freeze-breaker.reset', by, occurredAt }) }],
    });
  } finally {
    await producer.disconnect();
  }
  return { topic: cfg.topics.control, occurredAt };
}

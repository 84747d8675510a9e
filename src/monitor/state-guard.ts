/**
 * State in Redis is a cache of the input topics. At start-up, state found missing is rebuilt from
 * the topics; while running, state that goes missing stops the monitor (see Monitor.loseState).
 */
import type { Admin } from 'kafkajs';
import type { Config } from '../config.js';
import { PairguardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { LearningBound } from '../state/learned.js';
import type { LearnedStore, MarkStore } from '../state/store.js';
import type { ConsumerGroup } from '../stream/consumer-groups.js';
import { consumerGroups } from '../stream/consumer-groups.js';
import type { WrittenOutputsRead } from '../stream/written-outputs.js';
import { withTimeout } from './timers.js';

export interface EnsureStateDeps {
  store: MarkStore & LearnedStore;
  admin: Pick<Admin, 'fetchOffsets' | 'setOffsets' | 'fetchTopicOffsets' | 'describeGroups'>;
  config: Pick<Config, 'groupId' | 'topics'>;
  logger: Logger;
  now: () => number;
  /** Reads the outputs already on the alerts and control topics into the store (stream/written-outputs.ts). */
  learnWritten: () => Promise<WrittenOutputsRead>;
}

/** What start-up found: the state there, made afresh, or lost and being rebuilt. */
export type StateAtStart = 'intact' | 'created' | 'rebuilding';

/** The output topics a start learns from: pairguard's alerts, and the control topic's freezes and reviewers' unfreezes. */
const outputTopics = (config: Pick<Config, 'topics'>) => [config.topics.alerts, config.topics.control];

/**
 * If the state is missing while the consumer groups have committed offsets, it was lost: learn
 * what was already written from the output topics (so the rebuild does not write it again), then
 * rewind the groups to the earliest offsets so the state is rebuilt from history. The state marker
 * is written last: a start-up that dies before it does all of this again. Only possible while no
 * other instance is in the groups; otherwise start-up fails and should be retried once they have
 * stopped too.
 */
export async function ensureState(deps: EnsureStateDeps): Promise<StateAtStart> {
  const { store, admin, config, logger, now } = deps;
  if (await store.stateIntact()) return 'intact';
  const groups = consumerGroups(config);
  if (!(await anyCommitted(admin, groups))) {
    // A first start on topics that hold history already (a new deployment, topics replayed in a
    // test, a new group id): the history is judged afterwards, in event time, and what is on the
    // output topics is learned first, as for a rebuild, so that nothing written is written again
    // and no chat is frozen for an episode a reviewer cleared (contract §6).
    if (await holdsRecords(admin, outputTopics(config))) {
      const read = await startFailing('the outputs already on its topics could not be read back', deps.learnWritten);
      logger.info(
        { alerts: read.counts.alert, freezes: read.counts.freeze, unfreezes: read.counts.unfreeze, ends: read.ends },
        'learned the outputs already on the topics: judging their history marks them sent instead of writing them again',
      );
      await store.markLearned(await inputEnds(admin, groups, now()));
    }
    await store.markStateCreated(now());
    return 'created';
  }
  logger.warn(
    { groups: groups.map((g) => g.groupId) },
    'Redis holds no pairguard state but the consumer groups have committed offsets: rebuilding state from the beginning of the input topics',
  );
  // Before reading the outputs: an instance still in the groups could write more after the read.
  await rebuildFailing('the consumer groups are in use', STOP_ALL, () => assertIdle(admin, groups));
  const read = await rebuildFailing('the outputs it already wrote could not be read back', RETRY, deps.learnWritten);
  logger.info(
    { alerts: read.counts.alert, freezes: read.counts.freeze, unfreezes: read.counts.unfreeze, ends: read.ends },
    'learned the outputs already written: the rebuild marks them sent instead of writing them again',
  );
  await store.markLearned(await inputEnds(admin, groups, now()));
  await rebuildFailing('the consumer groups could not be rewound', STOP_ALL, async () => {
    // To each partition's earliest offset, as a number: kafkajs's resetOffsets commits "earliest"
    // as -2, which leaves an empty partition looking as if two records waited on it (the idle
    // check, liveness, the learned record's bound).
    for (const g of groups)
      for (const topic of g.topics) {
        const partitions = (await admin.fetchTopicOffsets(topic)).map((o) => ({
          partition: o.partition,
          offset: o.low,
        }));
        await admin.setOffsets({ groupId: g.groupId, topic, partitions });
      }
  });
  await store.markStateCreated(now());
  return 'rebuilding';
}

async function holdsRecords(admin: EnsureStateDeps['admin'], topics: readonly string[]): Promise<boolean> {
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    if (offsets.some((o) => BigInt(o.high) > BigInt(o.low))) return true;
  }
  return false;
}

async function anyCommitted(admin: EnsureStateDeps['admin'], groups: readonly ConsumerGroup[]): Promise<boolean> {
  for (const g of groups) {
    const offsets = await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics });
    if (offsets.some((t) => t.partitions.some((p) => p.offset !== '-1'))) return true;
  }
  return false;
}

/** Fails when an instance is in one of the groups (kafkajs refuses to rewind such a group too). */
async function assertIdle(admin: EnsureStateDeps['admin'], groups: readonly ConsumerGroup[]): Promise<void> {
  const { groups: described } = await admin.describeGroups(groups.map((g) => g.groupId));
  const busy = described.filter((d) => d.state !== 'Empty' && d.state !== 'Dead');
  if (busy.length > 0)
    throw new Error(`instances are still in ${busy.map((d) => `${d.groupId} (${d.state})`).join(', ')}`);
}

/** The read-committed end of every group's topics: the learned record serves until the groups pass them. */
async function inputEnds(
  admin: EnsureStateDeps['admin'],
  groups: readonly ConsumerGroup[],
  learnedAt: number,
): Promise<LearningBound> {
  const bound: LearningBound = { learnedAt, groups: [] };
  for (const g of groups) {
    const topics: LearningBound['groups'][number]['topics'] = [];
    for (const topic of g.topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      topics.push({ topic, ends: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
    }
    bound.groups.push({ groupId: g.groupId, topics });
  }
  return bound;
}

const STOP_ALL = 'stop every instance, then start again';
const RETRY = 'start again to retry';

/** A rebuild's step; its failure stops start-up before the state marker is written, so the next start does it all again. */
async function rebuildFailing<T>(what: string, hint: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new PairguardError(
      'STATE_LOST',
      `Redis lost pairguard's state and ${what} (${hint}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A first start's step; its failure stops start-up before the state marker is written, so the next start does it again. */
async function startFailing<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new PairguardError(
      'OUTPUTS_UNREADABLE',
      `pairguard starts on new state and ${what} (${RETRY}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A health check: calls `onLost` once the state marker is gone, so loss is noticed with traffic or without. */
export function stateMarkerCheck(
  store: Pick<MarkStore, 'stateIntact'>,
  logger: Logger,
  onLost: () => void,
): () => Promise<void> {
  return async () => {
    // Bounded: a check stuck on a node that went away must not stop the next ones.
    const intact = await withTimeout(store.stateIntact(), 2_000).catch((err: Error) => {
      logger.debug({ err: err.message }, 'could not check the state marker, will try again');
      return true;
    });
    if (!intact) onLost();
  };
}

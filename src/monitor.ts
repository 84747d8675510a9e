/**
 * The composition root: builds the adapters around the judge and runs one consumer per input
 * stream, each in its own group so it can wait for the others without blocking them:
 *
 *  - approvals (group `<groupId>.approvals`): keeps the approval cache, judges revocations and
 *    role changes;
 *  - membership (group `<groupId>`): judges chats and members once the approvals on their topic
 *    are applied; also reads reviewers' `chat.unfrozen` from the control topic;
 *  - messages (group `<groupId>.messages`): counts enforcement gaps, and judges a sender who is
 *    not a member once the approvals and membership on their topics are applied.
 *
 * Monitor.start is the order of assembly; each part is built in src/monitor/.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Admin, Producer } from 'kafkajs';
import type { Config } from './config.js';
import type { JudgeDeps } from './judge/judge.js';
import { closeAll } from './monitor/shutdown.js';
import { ConsumerRunner } from './monitor/consumer-runner.js';
import type { ConsumerSlot } from './monitor/consumer-slots.js';
import { consumerFactory, createSlots } from './monitor/consumer-slots.js';
import { freezeBreaker, openKafka, openProducer, openRedis } from './monitor/connections.js';
import type { DependencyHealth } from './monitor/health-pass.js';
import { breakerGaugesCheck, dependencyCheck, healthPass, learnedRecordCheck } from './monitor/health-pass.js';
import { livenessWatch } from './monitor/liveness-watch.js';
import { ensureState, stateMarkerCheck } from './monitor/state-guard.js';
import { Timers } from './monitor/timers.js';
import { prepareTopics } from './monitor/topics.js';
import { startHttp } from './observability/http.js';
import type { ProgressWatch } from './observability/liveness.js';
import type { Logger } from './observability/logger.js';
import { createLogger } from './observability/logger.js';
import type { ConsumerName } from './stream/consumer-groups.js';
import { Metrics } from './observability/metrics.js';
import { StreamObserver } from './observability/stream-events.js';
import { LearnedGate } from './state/learned-gate.js';
import type { RedisFreezeBreaker } from './state/redis-breaker.js';
import type { RedisClient } from './state/redis-client.js';
import type { RedisStateStore } from './state/redis-store.js';
import type { MarkSignal } from './stream/frontier.js';
import { FRONTIER_YIELD_MS, SlowWaits, WatermarkCache, stampsPast, waitForFrontier } from './stream/frontier.js';
import type { BatchContext } from './stream/batch-handler.js';
import { handleFilteredBatch, judgePrepared, prepareBatch } from './stream/batch-handler.js';
import { consumerGroups } from './stream/consumer-groups.js';
import { kafkajsCompression } from './stream/codecs.js';
import { refreshLag } from './stream/lag-watch.js';
import { Publisher } from './stream/publisher.js';
import { readWrittenOutputs } from './stream/written-outputs.js';
import type { LimitFunction } from 'p-limit';
import pLimit from 'p-limit';

export interface MonitorOptions {
  config: Config;
  logger?: Logger;
  metrics?: Metrics;
  /** Wall clock (ms); tests may fix it. */
  now?: () => number;
  /** How often the health pass runs: dependencies and catch-up for /readyz, the gauges, the state marker. */
  healthIntervalMs?: number;
  /** How often the high watermarks are read, so the lag of partitions without batches stays current. */
  lagIntervalMs?: number;
  /** How often judged offsets are committed (see stream/offset-commits.ts). */
  commitIntervalMs?: number;
}

/** How often judged offsets are committed by default (see stream/offset-commits.ts). */
const COMMIT_INTERVAL_MS = 100;

/** Runs the rest of start-up; if it fails, what it opened (and Redis) is closed before the error is thrown. */
async function closingOnFailure<T>(
  redis: RedisClient,
  rest: (opened: Array<() => Promise<void>>) => Promise<T>,
): Promise<T> {
  const opened: Array<() => Promise<void>> = [];
  try {
    return await rest(opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    redis.disconnect();
    throw err;
  }
}

/** The HTTP server, up before the monitor is built: until then /readyz answers `starting`. */
function serveHttp(
  config: Config,
  metrics: Metrics,
  store: RedisStateStore,
  monitor: () => Monitor | null,
): Promise<Server> {
  return startHttp(
    { host: config.httpHost, port: config.httpPort },
    metrics,
    {
      // null is ready: only a monitor not built yet answers 'starting'.
      notReadyReason: () => {
        const m = monitor();
        return m ? m.notReadyReason() : 'starting';
      },
      consumerStates: () => monitor()?.consumerStates() ?? {},
      stalledReason: () => monitor()?.stalledReason() ?? null,
    },
    config.adminToken ? { token: config.adminToken, store } : undefined,
  );
}

export class Monitor {
  private stopping: Promise<void> | null = null;
  private readonly timers = new Timers(() => this.stopping !== null);
  private readonly health: DependencyHealth = { redisUp: false, kafkaUp: false, caughtUp: false };
  private progress: ProgressWatch | null = null;
  private stateLost = false;
  private onFatal: ((reason: string) => void) | null = null;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly metrics: Metrics,
    private readonly redis: RedisClient,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly consumers: readonly ConsumerSlot[],
    private readonly http: Server,
  ) {}

  /** Called once if the monitor stops itself because it cannot go on safely (e.g. Redis lost its state). */
  onFatalStop(listener: (reason: string) => void): void {
    this.onFatal = listener;
  }

  /** The HTTP port actually bound (HTTP_PORT=0 picks a free one). */
  get httpPort(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** Why /readyz answers 503, or null when ready. */
  notReadyReason(): string | null {
    if (this.stopping) return 'shutting down';
    if (this.stateLost) return 'redis lost pairguard state; restart to rebuild it from the topics';
    const down = this.consumers.flatMap((c) => (c.down ? [c.down] : []));
    if (down.length > 0) return down.join('; ');
    // Contract: a consumer that cannot make progress makes /readyz answer 503 with the reason.
    const stalled = this.stalledReason();
    if (stalled) return stalled;
    if (!this.health.redisUp) return 'redis unreachable';
    if (!this.health.kafkaUp) return 'kafka unreachable';
    if (!this.health.caughtUp) return 'approval cache catching up';
    return null;
  }

  /** Each consumer's state, for the /readyz body. */
  consumerStates(): Record<ConsumerName, string> {
    const states = {} as Record<ConsumerName, string>;
    for (const c of this.consumers) {
      const stalled = this.progress?.stalled(c.name);
      if (c.held) states[c.name] = `held: ${c.down ?? c.held.reason}`;
      else if (c.down) states[c.name] = `stopped: ${c.down.replace(/^consumer stopped: /, '')}`;
      else if (!c.assignment) states[c.name] = 'joining';
      else states[c.name] = stalled ? `stalled: ${stalled}` : 'running';
    }
    return states;
  }

  /** Why /healthz answers 503 (a consumer wedged with records waiting, see observability/liveness.ts), or null. */
  stalledReason(): string | null {
    return this.progress?.reason(this.consumers.map((c) => c.name)) ?? null;
  }

  static async start(opts: MonitorOptions): Promise<Monitor> {
    const { config } = opts;
    const logger = opts.logger ?? createLogger(config.logLevel);
    const now = opts.now ?? Date.now;
    // The lag gauges' record ages use the monitor's clock, as detection latency does.
    const metrics = opts.metrics ?? new Metrics({ now });

    const { redis, store, redisEpoch, marks } = await openRedis(config, logger, metrics);
    const { kafka, admin, producer, bound } = await closingOnFailure(redis, async (opened) => {
      const { kafka, admin } = await openKafka(config, logger);
      opened.push(() => admin.disconnect());
      await prepareTopics(admin, config, logger);
      await ensureState({
        store,
        admin,
        config,
        logger,
        now,
        learnWritten: () =>
          readWrittenOutputs({
            kafka,
            topics: config.topics,
            groupId: config.groupId,
            limits: { maxValueBytes: config.maxEventBytes, maxMembers: config.maxChatMembers },
            maxSkewMs: config.maxClockSkewSeconds * 1000,
            onOutputs: (outputs) => store.learnOutputs(outputs),
          }),
      });
      // A rebuild's learned record, this instance's or another's, consulted until it is dropped.
      const bound = await store.learningBound();
      return { kafka, admin, producer: await openProducer(kafka), bound };
    });
    const learned = new LearnedGate(store);
    learned.follow(bound);

    const newConsumer = consumerFactory(kafka);
    const consumers = createSlots(consumerGroups(config), newConsumer, logger);
    metrics.initialise({ consumers: consumers.map((c) => [c.name, c.topics] as const) });

    let monitor: Monitor | null = null;
    const http = await serveHttp(config, metrics, store, () => monitor);
    const m = (monitor = new Monitor(config, logger, metrics, redis, admin, producer, consumers, http));
    const breaker = freezeBreaker(config, redis);
    const ctx = Monitor.batchContext(m, {
      config,
      store,
      admin,
      producer,
      breaker,
      learned,
      now,
      metrics,
      logger,
      redisEpoch,
      marks,
    });
    const runner = new ConsumerRunner({
      admin,
      logger,
      metrics,
      timers: m.timers,
      newConsumer,
      stopping: () => m.stopping !== null,
      prepareBatch: (payload) => prepareBatch(ctx, payload),
      judgePrepared: (prepared) => judgePrepared(ctx, prepared),
      markFiltered: (topic, partition, lastOffset) => handleFilteredBatch(ctx, topic, partition, lastOffset),
    });
    await Promise.all(consumers.map((slot) => runner.run(slot)));
    m.startLoops(store, breaker, learned, now, opts);
    logger.info(
      {
        version: metrics.build.version,
        revision: metrics.build.revision,
        mode: config.mode,
        groupId: config.groupId,
        topics: config.topics,
        brokers: config.kafkaBrokers,
        httpPort: m.httpPort,
      },
      'pairguard started',
    );
    return m;
  }

  /** What the batch handler is given: the judge's collaborators, the barrier, where judged offsets go. */
  private static batchContext(
    m: Monitor,
    parts: {
      config: Config;
      store: RedisStateStore;
      admin: Admin;
      producer: Producer;
      breaker: RedisFreezeBreaker | undefined;
      learned: LearnedGate;
      now: () => number;
      metrics: Metrics;
      logger: Logger;
      redisEpoch: () => number;
      marks: MarkSignal;
    },
  ): BatchContext {
    const { config, store, admin, producer, breaker, learned, now, metrics, logger, redisEpoch, marks } = parts;
    const slotOfTopic = new Map(m.consumers.flatMap((c) => c.topics.map((t) => [t, c] as const)));
    const inputTopics = (['approvals', 'membership', 'messages'] as const).map((role) => ({
      name: config.topics[role],
      role,
    }));
    const topicsOf = (facts: 'membership' | 'inputs') =>
      facts === 'membership' ? inputTopics.filter((t) => t.role === 'membership') : inputTopics;
    // A stream whose waits keep giving up is behind on what it depends on: said every warn period.
    const slowWaits = new SlowWaits(config.approvalCatchUpWarnMs, (stream, behind, waitedMs) =>
      logger.warn(
        { stream, behind: String(behind), waitedMs },
        'judging waits for the state it depends on to catch up',
      ),
    );
    const watermarks = new WatermarkCache(admin);
    const partitionLocks = new Map<string, LimitFunction>();
    const judge: JudgeDeps = {
      store,
      mode: config.mode,
      now,
      breaker,
      learned,
    };
    const compression = kafkajsCompression(config.kafkaOutputCompression);
    const ctx: BatchContext = {
      config,
      judge,
      publisher: new Publisher(producer, store, config.topics, compression, learned),
      events: new StreamObserver(metrics, logger, config),
      limits: { maxValueBytes: config.maxEventBytes, maxMembers: config.maxChatMembers },
      onStateLost: () => m.loseState(),
      redisEpoch,
      done: (topic, partition, nextOffset) => slotOfTopic.get(topic)?.commits.done(topic, partition, nextOffset),
      // Batches of a partition are applied ahead while the one before is judged (judging-queues.ts).
      exclusive: (topic, partition, fn) => {
        const key = `${topic}\u0000${partition}`;
        let lock = partitionLocks.get(key);
        if (!lock) partitionLocks.set(key, (lock = pLimit(1)));
        return lock(fn);
      },
      frontierReach: (ask, stamps) =>
        stampsPast(
          { admin: watermarks.since(ask.fetchedAt), store, topics: topicsOf(ask.facts), own: ask.own },
          stamps,
        ),
      frontier: (ask) => {
        const waited = metrics.barrierWait.startTimer({ stream: ask.stream });
        return waitForFrontier({
          admin: watermarks.since(ask.fetchedAt),
          store,
          topics: topicsOf(ask.facts),
          own: ask.own,
          through: ask.through,
          onWait: ask.heartbeat,
          shouldStop: () => m.stopping !== null || ask.stopped(),
          yieldAfterMs: FRONTIER_YIELD_MS,
          marked: () => marks.next(),
        })
          .then((outcome) => {
            slowWaits.observe(ask.stream, outcome);
            return outcome;
          })
          .finally(() => waited());
      },
    };

    return ctx;
  }

  private loseState(): void {
    if (this.stateLost) return;
    this.stateLost = true;
    const reason =
      'Redis holds no pairguard state any more (restarted empty?): stopping rather than judging blind; a restart rebuilds it from the topics';
    this.logger.fatal({ dependency: 'redis' }, reason);
    void this.stop().finally(() => this.onFatal?.(reason));
  }

  /** The periodic loops: one health pass, the liveness look, offset commits and the lag refresh. */
  private startLoops(
    store: RedisStateStore,
    breaker: RedisFreezeBreaker | undefined,
    learned: LearnedGate,
    now: () => number,
    opts: MonitorOptions,
  ): void {
    const healthIntervalMs = opts.healthIntervalMs ?? 2_000;
    const { admin, logger, metrics } = this;
    const checks = [
      dependencyCheck({
        store,
        admin,
        approvalsTopic: this.config.topics.approvals,
        logger,
        metrics,
        health: this.health,
        notReadyReason: () => this.notReadyReason(),
      }),
      // State loss is noticed within seconds, with traffic or without.
      stateMarkerCheck(store, logger, () => this.loseState()),
      ...(breaker ? [breakerGaugesCheck(breaker, metrics, now)] : []),
      // Whichever instance led a rebuild, each follows its learned record and any may drop it.
      learnedRecordCheck({ store, admin, gate: learned, logger }),
    ];
    this.timers.repeat(healthIntervalMs, healthPass(checks, healthIntervalMs));

    const liveness = livenessWatch({
      admin,
      store,
      slots: this.consumers,
      stallSeconds: this.config.stallSeconds,
      healthIntervalMs,
      dependenciesUp: () => this.health.redisUp && this.health.kafkaUp,
    });
    this.progress = liveness.progress;
    this.timers.repeat(liveness.intervalMs, liveness.look);

    this.timers.repeat(opts.commitIntervalMs ?? COMMIT_INTERVAL_MS, () =>
      Promise.all(this.consumers.map((c) => c.commits.flush())),
    );
    this.timers.repeat(opts.lagIntervalMs ?? 5_000, () =>
      refreshLag(
        admin,
        metrics.lag,
        this.consumers.flatMap((c) => (c.assignment ? [{ groupId: c.groupId, assignment: c.assignment }] : [])),
      ).catch((err: Error) => logger.debug({ err: err.message }, 'could not read high watermarks for the lag gauges')),
    );
  }

  /**
   * Stops fetching, lets the batch in flight finish and commit, then disconnects Kafka, closes
   * Redis and HTTP. Every step runs even when an earlier one fails; safe to call twice.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.timers.clear();
    const { consumers, producer, admin, redis, http } = this;
    await closeAll({ consumers, producer, admin, redis, http }, this.logger);
  }
}

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
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Admin, Consumer, Producer } from 'kafkajs';
import type { Config } from './config.js';
import { PairguardError } from './errors.js';
import type { JudgeDeps } from './judge/judge.js';
import type { Assignment } from './observability/consumer-events.js';
import { watchConsumer } from './observability/consumer-events.js';
import { startHttp } from './observability/http.js';
import { ProgressWatch } from './observability/liveness.js';
import { committedPositions } from './stream/committed-positions.js';
import type { Logger } from './observability/logger.js';
import { createLogger } from './observability/logger.js';
import type { ConsumerName } from './stream/consumer-groups.js';
import { Metrics } from './observability/metrics.js';
import type { RedisClient } from './state/redis-client.js';
import { createRedis } from './state/redis-client.js';
import { connectRedis } from './state/redis-connect.js';
import { RedisStateStore } from './state/redis-store.js';
import { recordsNotApplied, waitUntilApplied } from './stream/applied-barrier.js';
import type { BatchContext } from './stream/batch-handler.js';
import { handleBatch, handleFilteredBatch } from './stream/batch-handler.js';
import { consumerGroups, topicsWithUncommitted } from './stream/consumer-groups.js';
import { RedisFreezeBreaker } from './state/redis-breaker.js';
import { checkDurability, inspectRedis } from './state/redis-durability.js';
import { kafkajsCompression, undecodableCause } from './stream/codecs.js';
import { connectKafka } from './stream/connect-errors.js';
import { createKafka } from './stream/kafka-client.js';
import { refreshLag } from './stream/lag-watch.js';
import { OffsetCommits } from './stream/offset-commits.js';
import { Publisher } from './stream/publisher.js';
import { ensureTopics } from './stream/topics.js';

export interface MonitorOptions {
  config: Config;
  logger?: Logger;
  metrics?: Metrics;
  /** Wall clock (ms); tests may fix it. */
  now?: () => number;
  /** How often dependencies and catch-up are checked for /readyz, the *_up gauges and frozen chats. */
  healthIntervalMs?: number;
  /** How often the high watermarks are read, so the lag of partitions without batches stays current. */
  lagIntervalMs?: number;
  /** How often judged offsets are committed (see stream/offset-commits.ts). */
  commitIntervalMs?: number;
}

/** One of the monitor's consumers: its name, group and topics. */
interface ConsumerSlot {
  /** Metric label and log field. */
  name: ConsumerName;
  /** Consumer group id. */
  groupId: string;
  /** Topics it subscribes to. */
  topics: readonly string[];
  /** The kafkajs consumer. */
  consumer: Consumer;
  /** Partitions this process owns, from the last group join (null before the first). */
  assignment: Assignment | null;
  /** A restart of this consumer is scheduled (see superviseStopped). */
  restarting: boolean;
  /** Offsets judged and not committed yet (see stream/offset-commits.ts). */
  commits: OffsetCommits;
  /** Batches being judged right now. */
  inFlight: number;
  /** Why this consumer is not judging (stopped by kafkajs, or held at an undecodable batch), or null. */
  down: string | null;
  /** Set while the consumer holds at a record batch it cannot decode; cleared by its next batch. */
  held: { codec: string; reason: string } | null;
  /** Restarts since this consumer last judged a batch: the back-off of the next one grows with them. */
  restartsWithoutProgress: number;
}

const SHUTDOWN_STEP_MS = 10_000;

/** `p`, or a rejection after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `fn` until it succeeds or `stop()` says so, backing off from 100 ms to 5 s; rethrows the last error when stopped. */
async function retryUntil(fn: () => Promise<void>, stop: () => boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (stop()) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
    }
  }
}
/** How often judged offsets are committed by default (see stream/offset-commits.ts). */
const COMMIT_INTERVAL_MS = 100;
/** Batches of different partitions one consumer judges at once. */
const PARTITIONS_IN_FLIGHT = 4;

export class Monitor {
  private stopping: Promise<void> | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private redisUp = false;
  private kafkaUp = false;
  private caughtUp = false;
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
    if (!this.redisUp) return 'redis unreachable';
    if (!this.kafkaUp) return 'kafka unreachable';
    if (!this.caughtUp) return 'approval cache catching up';
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
    const metrics = opts.metrics ?? new Metrics();
    const now = opts.now ?? Date.now;

    // One server or a cluster, as REDIS_URL says (see state/redis-client.ts). Auto-pipelining:
    // the commands that concurrent lanes (see stream/batch-handler.ts) issue in one tick leave in
    // one write per server.
    const redis = createRedis(config.redisUrl, {
      lazyConnect: true,
      connectionName: 'pairguard',
      autoPipelining: true,
    });
    redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
    await connectRedis(redis);
    const withoutAof = checkDurability(await inspectRedis(redis));
    if (withoutAof.length > 0) {
      logger.warn(
        { nodes: withoutAof.map((n) => n.node) },
        'Redis keeps no append-only file: a restart empties it, and pairguard is blind while it rebuilds its state from the topics (enable appendonly)',
      );
    }
    // Each (re)connection is an epoch: a batch that spans a reconnect checks the state is still
    // there before writing what it judged (the server may have come back empty).
    let redisEpoch = 0;
    redis.on('ready', () => redisEpoch++);
    const store = new RedisStateStore(redis, config.redisKeyPrefix, (operation, seconds) =>
      metrics.redisCommandDuration.observe({ operation }, seconds),
    );

    const kafka = createKafka(config, logger);
    const admin = kafka.admin();
    await connectKafka(admin, config);
    const created = await ensureTopics(admin, config.topics, config.createTopicsPartitions);
    if (created.length > 0) logger.info({ topics: created }, 'created missing topics');

    await ensureState(store, admin, config, logger, now);

    // Not idempotent: kafkajs 2.2.4 then holds a lock per broker around every produce request, so
    // the outputs of concurrently judged partitions queue behind each other (measured: about a
    // fifth less sustained throughput on the benchmark's 1%-violation stream). Copies from retries
    // carry the same alertId, which consumers drop (README, Alerts and freezes).
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();

    // Short fetch waits: an alert must land before a stranger's next message, not after a poll
    // interval. A 10 s session: a crashed instance's partitions move to a live one within seconds.
    // Fetches are capped so the records held in memory stay small whatever the backlog (3
    // consumers × 1 MiB); a backlog is still read in batches of thousands of records, which is
    // what lets a batch's round trips to Redis serve many records (BENCHMARKS.md).
    const consumerOptions = {
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 512 * 1024,
      maxBytes: 1024 * 1024,
    };
    const consumers: ConsumerSlot[] = consumerGroups(config).map(({ name, groupId, topics }) => {
      const slot: ConsumerSlot = {
        name,
        groupId,
        topics,
        consumer: kafka.consumer({ ...consumerOptions, groupId }),
        assignment: null,
        restarting: false,
        commits: new OffsetCommits(
          () => slot.consumer,
          (err) => logger.debug({ consumer: name, err: err.message }, 'offsets not committed yet, will try again'),
        ),
        inFlight: 0,
        down: null,
        held: null,
        restartsWithoutProgress: 0,
      };
      return slot;
    });
    const slotOfTopic = new Map(consumers.flatMap((c) => c.topics.map((t) => [t, c] as const)));
    metrics.initialise({ consumers: consumers.map((c) => [c.name, c.topics] as const) });

    let monitor: Monitor | null = null;
    const http = await startHttp(
      { host: config.httpHost, port: config.httpPort },
      metrics,
      {
        notReadyReason: () => (monitor ? monitor.notReadyReason() : 'starting'),
        consumerStates: () => monitor?.consumerStates() ?? {},
        stalledReason: () => monitor?.stalledReason() ?? null,
      },
      config.adminToken ? { token: config.adminToken, store } : undefined,
    );
    monitor = new Monitor(config, logger, metrics, redis, admin, producer, consumers, http);
    // One breaker for every instance: its state is in Redis (judge/freeze-breaker.ts).
    const breaker =
      config.freezeBudget > 0
        ? new RedisFreezeBreaker(
            redis,
            config.redisKeyPrefix,
            config.freezeBudget,
            config.freezeBudgetWindowSeconds * 1000,
          )
        : undefined;
    const m = monitor;

    const judge: JudgeDeps = {
      store,
      mode: config.mode,
      now,
      breaker,
    };
    const ctx: BatchContext = {
      config,
      judge,
      publisher: new Publisher(producer, store, config.topics, kafkajsCompression(config.kafkaOutputCompression)),
      metrics,
      logger,
      limits: { maxValueBytes: config.maxEventBytes, maxMembers: config.maxChatMembers },
      onStateLost: () => m.loseState(),
      redisEpoch: () => redisEpoch,
      done: (topic, partition, nextOffset) => slotOfTopic.get(topic)?.commits.done(topic, partition, nextOffset),
      dependenciesApplied: (stream, heartbeat) => {
        const waited = metrics.barrierWait.startTimer({ stream });
        return waitUntilApplied({
          admin,
          store,
          topics:
            stream === 'membership' ? [config.topics.approvals] : [config.topics.approvals, config.topics.membership],
          onWait: heartbeat,
          shouldStop: () => m.stopping !== null,
          warnAfterMs: config.approvalCatchUpWarnMs,
          onSlow: (behind, waitedMs) =>
            logger.warn(
              { stream, behind: behind.toString(), waitedMs },
              'judging waits for the state it depends on to catch up',
            ),
        }).finally(() => waited());
      },
    };

    const run = async (slot: ConsumerSlot) => {
      const consumer = slot.consumer;
      watchConsumer(consumer, {
        name: slot.name,
        topics: slot.topics,
        logger,
        metrics,
        onAssigned: (assignment) => {
          slot.assignment = assignment;
          slot.commits.retain(assignment);
          // Joined again: running, unless it is still held at a batch it cannot decode.
          if (!slot.held) slot.down = null;
        },
        // Only the consumer currently in the slot can ask for a restart.
        onStopped: (reason, error) => {
          if (slot.consumer !== consumer) return;
          const undecodable = undecodableCause(error);
          if (undecodable) m.holdAtUndecodable(slot, undecodable);
          m.superviseStopped(
            slot,
            reason,
            () => kafka.consumer({ ...consumerOptions, groupId: slot.groupId }),
            run,
            slot.restartsWithoutProgress++,
          );
        },
      });
      const eachBatch = async (payload: Parameters<typeof handleBatch>[1]) => {
        if (slot.held) m.releaseHold(slot);
        slot.restartsWithoutProgress = 0;
        slot.inFlight++;
        try {
          await handleBatch(ctx, payload);
        } catch (err) {
          // kafkajs fetches the batch again from the last committed offset; count and say so once.
          metrics.batchFailures.inc({ topic: payload.batch.topic });
          logger.error(
            {
              consumer: slot.name,
              topic: payload.batch.topic,
              partition: payload.batch.partition,
              err: (err as Error).message,
            },
            'batch failed, will be retried',
          );
          throw err;
        } finally {
          slot.inFlight--;
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize !== 0) return;
        // A marker may be the partition's last record for a long time: retried until it is marked.
        void retryUntil(
          () => handleFilteredBatch(ctx, payload.topic, payload.partition, payload.lastOffset),
          () => m.stopping !== null,
        ).catch((err: Error) =>
          logger.warn(
            { consumer: slot.name, topic: payload.topic, partition: payload.partition, err: err.message },
            'could not mark transaction markers done',
          ),
        );
      });
      await slot.consumer.connect();
      await slot.consumer.subscribe({ topics: [...slot.topics], fromBeginning: true });
      // Partitions are judged concurrently: judging is round-trip bound, and safe to interleave
      // (facts are written before they are read; decisions are compare-and-set).
      // Offsets are committed by slot.commits, off the judging path.
      await slot.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
        eachBatch,
      });
    };
    await Promise.all(consumers.map((slot) => run(slot)));

    m.startHealthChecks(store, opts.healthIntervalMs ?? 2_000);
    m.watchProgress(store, opts.healthIntervalMs ?? 2_000);
    // State loss is noticed within seconds, with traffic or without.
    m.repeat(opts.healthIntervalMs ?? 2_000, async () => {
      // Bounded: a check stuck on a node that went away must not stop the next ones.
      const intact = await withTimeout(store.stateIntact(), 2_000).catch((err: Error) => {
        logger.debug({ err: err.message }, 'could not check the state marker, will try again');
        return true;
      });
      if (!intact) m.loseState();
    });
    if (breaker) {
      // Another instance may trip or reset it: every instance's gauges follow Redis.
      m.repeat(opts.healthIntervalMs ?? 2_000, async () => {
        const state = await breaker.state(now()).catch(() => null);
        if (!state) return;
        metrics.freezeBudgetExhausted.set(state.open ? 1 : 0);
        metrics.freezesWithheldPending.set(state.withheld.length);
      });
    }
    m.repeat(opts.commitIntervalMs ?? COMMIT_INTERVAL_MS, () => Promise.all(consumers.map((c) => c.commits.flush())));
    m.repeat(opts.lagIntervalMs ?? 5_000, () =>
      refreshLag(
        admin,
        metrics.lag,
        consumers.flatMap((c) => (c.assignment ? [{ groupId: c.groupId, assignment: c.assignment }] : [])),
      ).catch((err: Error) => logger.debug({ err: err.message }, 'could not read high watermarks for the lag gauges')),
    );
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

  /** Runs `fn` now and then every `intervalMs` after it settles, until shutdown. */
  private repeat(intervalMs: number, fn: () => Promise<unknown>): void {
    const loop = () => {
      if (this.stopping) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void fn().finally(loop);
      }, intervalMs);
      this.timers.add(timer);
    };
    void fn().finally(loop);
  }

  /**
   * kafkajs restarts a consumer only after errors it deems retriable; after any other (say "failed
   * to find group coordinator" while a broker restarts) the consumer stays stopped, and with it
   * every consumer that waits for its topic. A safety monitor must not stall silently: report
   * not-ready, then build the consumer again, with back-off, until it runs or shutdown begins.
   */
  private superviseStopped(
    slot: ConsumerSlot,
    reason: string,
    create: () => Consumer,
    run: (slot: ConsumerSlot) => Promise<void>,
    attempt = 0,
  ): void {
    if (!slot.held) slot.down = `consumer stopped: ${reason}`;
    if (this.stopping || slot.restarting) return;
    slot.restarting = true;
    const delayMs = Math.min(30_000, 1_000 * 2 ** attempt);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      slot.restarting = false;
      if (this.stopping) return;
      void (async () => {
        await slot.consumer.disconnect().catch(() => undefined);
        slot.consumer = create();
        slot.assignment = null;
        try {
          await run(slot);
          // Running again once it rejoins its group (see onAssigned), not when run() resolves:
          // kafkajs resolves it before the join, which can still fail.
          this.logger.info({ consumer: slot.name, attempt: attempt + 1 }, 'consumer restarted, rejoining its group');
        } catch (err) {
          this.logger.error(
            { consumer: slot.name, err: (err as Error).message, attempt: attempt + 1 },
            'consumer restart failed, will try again',
          );
          this.superviseStopped(slot, `${slot.name}: ${(err as Error).message}`, create, run, attempt + 1);
        }
      })();
    }, delayMs);
    this.timers.add(timer);
  }

  /**
   * A fetch stopped at a record batch no codec decodes (an unknown codec, a corrupt batch). The
   * consumer is held there, never skipping past it: judging later records first could miss or
   * invent a violation. Readiness names the topic and the reason until a batch is judged again
   * (the supervisor keeps fetching it, with back-off, in case the cause was transient).
   */
  private holdAtUndecodable(slot: ConsumerSlot, error: { codec: string; message: string }): void {
    const { codec } = error;
    this.metrics.undecodableBatches.inc({ consumer: slot.name, codec });
    this.metrics.consumerHeld.set({ consumer: slot.name }, 1);
    const first = slot.held === null;
    slot.held = { codec, reason: error.message };
    slot.down = `${slot.name} consumer holds at a record batch it cannot decode on ${slot.topics.join(' or ')} (${error.message}); nothing after it is judged`;
    // A consumer reading two topics: the one with records left to judge is the one it stopped on.
    void topicsWithUncommitted(this.admin, slot.groupId, slot.topics)
      .then((topics) => {
        if (topics.length === 0 || slot.held === null) return;
        slot.down = `${slot.name} consumer holds at a record batch it cannot decode on ${topics.join(' or ')} (${error.message}); nothing after it is judged`;
        if (first)
          this.logger.error(
            { consumer: slot.name, topics, codec, err: error.message },
            'consumer holds at a record batch it cannot decode',
          );
      })
      .catch(() => {
        if (first)
          this.logger.error(
            { consumer: slot.name, topics: slot.topics, codec, err: error.message },
            'consumer holds at a record batch it cannot decode',
          );
      });
  }

  private releaseHold(slot: ConsumerSlot): void {
    this.logger.info(
      { consumer: slot.name, codec: slot.held?.codec },
      'consumer judges again after a batch it could not decode',
    );
    slot.held = null;
    slot.down = null;
    this.metrics.consumerHeld.set({ consumer: slot.name }, 0);
  }

  private loseState(): void {
    if (this.stateLost) return;
    this.stateLost = true;
    const reason =
      'Redis holds no pairguard state any more (restarted empty?): stopping rather than judging blind; a restart rebuilds it from the topics';
    this.logger.fatal({ dependency: 'redis' }, reason);
    void this.stop().finally(() => this.onFatal?.(reason));
  }

  /**
   * Liveness (observability/liveness.ts): every so often, where each consumer's group stands on
   * the partitions it owns, and whether it is excused from progress (held at an undecodable batch,
   * or waiting at the ordering barrier for records not applied yet).
   */
  private watchProgress(store: RedisStateStore, healthIntervalMs: number): void {
    const stallMs = this.config.stallSeconds * 1000;
    const progress = new ProgressWatch(stallMs);
    this.progress = progress;
    const dependsOn: Partial<Record<ConsumerName, string[]>> = {
      membership: [this.config.topics.approvals],
      messages: [this.config.topics.approvals, this.config.topics.membership],
    };
    // A barrier that cannot be read in time (Redis hangs) excuses nothing: the wait cannot end either.
    const waitingAtBarrier = async (slot: ConsumerSlot): Promise<boolean> => {
      if (slot.inFlight === 0) return false;
      const behind = Promise.all((dependsOn[slot.name] ?? []).map((t) => recordsNotApplied(this.admin, store, t))).then(
        (b) => b.some((n) => n > 0n),
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>(
        (resolve) => (timer = setTimeout(() => resolve(false), Math.max(1_000, healthIntervalMs))),
      );
      return Promise.race([behind, late]).finally(() => clearTimeout(timer));
    };
    const look = async () => {
      const at = Date.now();
      const up = this.redisUp && this.kafkaUp;
      const observations = await Promise.all(
        this.consumers.map(async (slot) => {
          try {
            // Out of its group (stopped, or rebuilt and not joined yet): every partition of its topics.
            const assignment = slot.down ? null : slot.assignment;
            if (!slot.down && !assignment) return { name: slot.name, positions: [], excused: null };
            const excused = slot.held
              ? 'held'
              : (await waitingAtBarrier(slot))
                ? 'waiting at the ordering barrier'
                : null;
            return {
              name: slot.name,
              positions: await committedPositions(this.admin, slot.groupId, slot.topics, assignment),
              excused,
            };
          } catch {
            return { name: slot.name, positions: null, excused: null };
          }
        }),
      );
      progress.observe(at, observations, up);
    };
    this.repeat(Math.max(healthIntervalMs, Math.min(15_000, stallMs / 10)), look);
  }

  private startHealthChecks(store: RedisStateStore, intervalMs: number): void {
    const check = async () => {
      const [redisUp, kafkaUp] = await Promise.all([
        store.ping().then(
          () => true,
          () => false,
        ),
        this.admin.describeCluster().then(
          () => true,
          () => false,
        ),
      ]);
      const behind =
        redisUp && kafkaUp
          ? await recordsNotApplied(this.admin, store, this.config.topics.approvals).catch(() => null)
          : null;
      if (redisUp !== this.redisUp)
        this.logger[redisUp ? 'info' : 'error']({ dependency: 'redis' }, redisUp ? 'dependency up' : 'dependency down');
      if (kafkaUp !== this.kafkaUp)
        this.logger[kafkaUp ? 'info' : 'error']({ dependency: 'kafka' }, kafkaUp ? 'dependency up' : 'dependency down');
      this.redisUp = redisUp;
      this.kafkaUp = kafkaUp;
      if (behind === 0n && !this.caughtUp) {
        this.caughtUp = true;
        this.logger.info('approval cache caught up');
      }
      this.metrics.redisUp.set(redisUp ? 1 : 0);
      this.metrics.kafkaUp.set(kafkaUp ? 1 : 0);
      this.metrics.ready.set(this.notReadyReason() === null ? 1 : 0);
      // One SCARD of the index kept beside each chat's freeze field, so nothing is scanned (see state/keys.ts).
      if (redisUp)
        await store.frozenChats().then(
          (n) => this.metrics.frozenChats.set(n),
          () => undefined,
        );
    };
    this.repeat(intervalMs, check);
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
    for (const timer of this.timers) clearTimeout(timer);
    const failures: string[] = [];
    const step = async (name: string, fn: () => Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${SHUTDOWN_STEP_MS} ms`)), SHUTDOWN_STEP_MS);
          }),
        ]);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    };
    // Each consumer stops fetching, finishes the batches in flight, commits what they judged, and
    // leaves its group.
    await Promise.all(
      this.consumers.map(async (slot) => {
        await step(`${slot.name} consumer drain`, async () => {
          // A consumer that never started running has nothing to pause or commit.
          try {
            slot.consumer.pause(slot.topics.map((topic) => ({ topic })));
          } catch {
            return;
          }
          while (slot.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
          await slot.commits.flush();
        });
        await step(`${slot.name} consumer`, () => slot.consumer.disconnect());
      }),
    );
    await step('producer', () => this.producer.disconnect());
    await step('admin', () => this.admin.disconnect());
    await step('redis', () => this.redis.quit());
    await step('http', () => {
      const closed = new Promise<void>((resolve, reject) => this.http.close((err) => (err ? reject(err) : resolve())));
      this.http.closeAllConnections();
      return closed;
    });
    if (failures.length > 0) this.logger.warn({ failures }, 'pairguard stopped with errors');
    else this.logger.info('pairguard stopped');
  }
}

/**
 * State in Redis is a cache of the input topics. If it is missing while the consumer groups have
 * committed offsets, it was lost: rewind the groups to the earliest offsets so it is rebuilt from
 * history (alerts come again with the same alertIds). Only possible while no other instance is in
 * the groups; otherwise start-up fails and should be retried once they have stopped too.
 */
async function ensureState(
  store: RedisStateStore,
  admin: Admin,
  config: Config,
  logger: Logger,
  now: () => number,
): Promise<void> {
  if (await store.stateIntact()) return;
  const groups = consumerGroups(config);
  let committed = false;
  for (const g of groups) {
    const offsets = await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics });
    if (offsets.some((t) => t.partitions.some((p) => p.offset !== '-1'))) committed = true;
  }
  if (committed) {
    logger.warn(
      { groups: groups.map((g) => g.groupId) },
      'Redis holds no pairguard state but the consumer groups have committed offsets: rebuilding state from the beginning of the input topics',
    );
    try {
      for (const g of groups)
        for (const topic of g.topics) await admin.resetOffsets({ groupId: g.groupId, topic, earliest: true });
    } catch (err) {
      throw new PairguardError(
        'STATE_LOST',
        `Redis lost pairguard's state and the consumer groups could not be rewound (stop every instance, then start again): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  await store.markStateCreated(now());
}

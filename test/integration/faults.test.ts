/**
 * Real faults on real processes: kill -9 at random points, a second instance leaving the group, a
 * Redis outage. Each run is checked against a generated stream's known answers.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';
import { Random } from '../../src/synthetic/random.js';
import { PrivateBroker } from '../support/private-broker.js';
import { PrivateRedis } from '../support/private-redis.js';
import { freePort, processEnv, startProcess } from '../support/process.js';
import type { RunningMonitor } from '../support/process.js';
import { expectExactAnswers, knownStream, produceChats, produceStream } from '../support/stream.js';

let env: TestEnv;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await env?.cleanup();
});

beforeAll(() => {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
});

describe('crash and restart', () => {
  it('kill -9 at random points, three times, then a clean run: every expected alert, no extra, one freeze per chat', async () => {
    const seed = Number(process.env.PAIRGUARD_FAULT_SEED ?? Date.now() % 100_000);
    // Seeded, so a failing run can be repeated with PAIRGUARD_FAULT_SEED.
    const rng = new Random(seed);
    const random = () => rng.next();
    env = await createTestEnv();
    const stream = knownStream(4000, Date.now(), 'k');
    const producer = kafka.producer();
    await producer.connect();

    // Each killed process gets a quarter of the stream that nobody has judged yet, arriving in
    // tenths while it runs (cuts fall between chats), so it is killed mid-stream however fast it judges.
    const kills: Array<{ afterAlerts: number; delayMs: number }> = [];
    const alertCount = async () => (await readTopic(env.admin, env.config.topics.alerts)).length;
    let running: RunningMonitor | null = null;
    cleanups.push(() => {
      if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    });
    for (let i = 0; i < 3; i++) {
      const seen = await alertCount();
      const port = await freePort();
      running = startProcess(['run'], processEnv(env, port, { LOG_LEVEL: 'warn' }));
      await waitFor(
        'the process to be ready',
        () =>
          fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        60_000,
      );
      const feeding = (async () => {
        for (let k = i * 10; k < (i + 1) * 10; k++) {
          await produceChats(producer, env, stream, k * 100, (k + 1) * 100);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      // Kill only once this process is judging: at a random moment after its first new alert.
      await waitFor('progress by this process', async () => (await alertCount()) > seen, 90_000);
      const delayMs = Math.floor(random() * 400);
      await new Promise((r) => setTimeout(r, delayMs));
      running.child.kill('SIGKILL');
      await running.exited;
      kills.push({ afterAlerts: await alertCount(), delayMs });
      await feeding;
    }
    await produceStream(producer, env, stream, 3 / 4, 1);
    await producer.disconnect();
    running = startProcess(['run'], processEnv(env, await freePort(), { LOG_LEVEL: 'warn' }));
    await waitUntilConsumed(env, 180_000);
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);

    const figures = await expectExactAnswers(env, stream);
    // For RELIABILITY.md: what this run injected and saw.
    console.info(
      JSON.stringify({
        test: 'kill-9',
        seed,
        kills,
        events: stream.approvals.length + stream.membership.length + stream.messages.length,
        expectedAlerts: stream.expected.size,
        ...figures,
      }),
    );
  });
});

describe('two instances in one group', () => {
  it('one stopped mid-stream: the other takes its partitions and the result is exact', async () => {
    env = await createTestEnv({ partitions: 4 });
    const stream = knownStream(1500, Date.now(), 'g');
    const producer = kafka.producer();
    await producer.connect();
    const a = await env.startMonitor();
    await env.startMonitor();
    await produceStream(producer, env, stream, 0, 0.5);
    await waitFor(
      'some alerts',
      async () => (await readTopic(env.admin, env.config.topics.alerts)).length >= 10,
      60_000,
    );
    await a.stop();
    await produceStream(producer, env, stream, 0.5, 1);
    await producer.disconnect();
    await waitUntilConsumed(env, 120_000);
    const figures = await expectExactAnswers(env, stream);
    console.info(
      JSON.stringify({
        test: 'two-instances',
        events: stream.approvals.length + stream.membership.length + stream.messages.length,
        expectedAlerts: stream.expected.size,
        ...figures,
      }),
    );
  });
});

describe('Redis outage', () => {
  it('stops judging while Redis is down, reports it, and resumes by itself with the exact result', async () => {
    const redis = await PrivateRedis.start({ persist: true });
    cleanups.push(() => redis.destroy());
    const redisUrl = redis.url;
    env = await createTestEnv({ env: { REDIS_URL: redisUrl } });
    const stream = knownStream(900, Date.now(), 'r');
    const producer = kafka.producer();
    await producer.connect();
    await produceStream(producer, env, stream, 0, 1 / 3);
    const monitor = await env.startMonitor();
    const metric = async (name: string) =>
      Number(
        new RegExp(`^${name} (\\S+)$`, 'm').exec(
          await (await fetch(`http://127.0.0.1:${monitor.httpPort}/metrics`)).text(),
        )?.[1],
      );
    await waitUntilConsumed(env, 60_000);
    const before = (await readTopic(env.admin, env.config.topics.alerts)).length;
    expect(before).toBeGreaterThan(0);

    await redis.kill();
    await produceStream(producer, env, stream, 1 / 3, 2 / 3);
    await waitFor(
      '/readyz 503 and pairguard_redis_up 0',
      async () => {
        const ready = await fetch(`http://127.0.0.1:${monitor.httpPort}/readyz`);
        return ready.status === 503 && (await metric('pairguard_redis_up')) === 0;
      },
      15_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    // Nothing is judged blind: no new alert while Redis is away.
    expect((await readTopic(env.admin, env.config.topics.alerts)).length).toBe(before);

    await redis.restart();
    await waitFor(
      '/readyz 200 again',
      async () => (await fetch(`http://127.0.0.1:${monitor.httpPort}/readyz`)).status === 200,
      60_000,
    );
    expect(await metric('pairguard_redis_up')).toBe(1);
    await produceStream(producer, env, stream, 2 / 3, 1);
    await producer.disconnect();
    await waitUntilConsumed(env, 180_000);
    const figures = await expectExactAnswers(env, stream);
    console.info(
      JSON.stringify({
        test: 'redis-outage',
        events: stream.approvals.length + stream.membership.length + stream.messages.length,
        expectedAlerts: stream.expected.size,
        ...figures,
      }),
    );
  });
});

describe('Redis restarting empty', () => {
  it('stops instead of judging blind, and the next start rebuilds the state from the topics with the exact result and no copy', async () => {
    const redis = await PrivateRedis.start({ persist: false });
    cleanups.push(() => redis.destroy());
    const redisUrl = redis.url;

    env = await createTestEnv({ env: { REDIS_URL: redisUrl } });
    const stream = knownStream(600, Date.now(), 'e');
    const producer = kafka.producer();
    await producer.connect();
    await produceStream(producer, env, stream, 0, 0.5);
    const first = await env.startMonitor();
    let fatal: string | null = null;
    first.onFatalStop((reason) => {
      fatal = reason;
    });
    await waitUntilConsumed(env, 60_000);

    await redis.kill();
    await redis.restart();
    await produceStream(producer, env, stream, 0.5, 1);
    await waitFor('the monitor to stop itself', async () => fatal !== null, 30_000);
    expect(first.notReadyReason()).toMatch(/shutting down|lost/);
    expect(env.logs.text).toContain('Redis holds no pairguard state any more');

    await env.startMonitor();
    await producer.disconnect();
    await waitUntilConsumed(env, 180_000);
    expect(env.logs.text).toContain('rebuilding state from the beginning of the input topics');
    expect(env.logs.text).toContain('learned the outputs already written');
    const figures = await expectExactAnswers(env, stream);
    console.info(
      JSON.stringify({
        test: 'redis-restarted-empty',
        events: stream.approvals.length + stream.membership.length + stream.messages.length,
        expectedAlerts: stream.expected.size,
        ...figures,
      }),
    );
    // What the first monitor wrote is learned back from the topics, not written again.
    expect(figures.duplicateAlertRecords).toBe(0);
    expect(figures.duplicateFreezeRecords).toBe(0);
  });
});

describe('Kafka broker restart', () => {
  it(
    'reconnects by itself after the broker restarts mid-stream, with the exact result',
    { timeout: 300_000 },
    async () => {
      const broker = await PrivateBroker.create();
      cleanups.push(() => broker.destroy());
      env = await createTestEnv({ env: { KAFKA_BROKERS: broker.brokers }, brokers: [broker.brokers] });
      const stream = knownStream(900, Date.now(), 'b');
      const privateKafka = env.kafka;
      let producer = privateKafka.producer();
      await producer.connect();
      await produceStream(producer, env, stream, 0, 0.5);
      await producer.disconnect();
      const monitor = await env.startMonitor();
      await waitFor(
        'some alerts',
        async () => (await readTopic(env.admin, env.config.topics.alerts, env.kafka)).length >= 5,
        60_000,
      );

      await broker.stop();
      await waitFor(
        'pairguard_kafka_up 0',
        async () =>
          /^pairguard_kafka_up 0$/m.test(await (await fetch(`http://127.0.0.1:${monitor.httpPort}/metrics`)).text()),
        20_000,
      );
      await broker.start();

      producer = privateKafka.producer();
      await producer.connect();
      await produceStream(producer, env, stream, 0.5, 1);
      await producer.disconnect();
      const restartedAt = Date.now();
      await waitUntilConsumed(env, 180_000).finally(() => {
        // The monitor's own account of the outage, for a failing run.
        for (const l of env.logs.lines())
          if ((l.time as number) >= restartedAt - 30_000 && (l.level as number) >= 40)
            console.info(new Date(l.time as number).toISOString(), l.msg, JSON.stringify(l).slice(0, 300));
      });
      const figures = await expectExactAnswers(env, stream);
      console.info(
        JSON.stringify({
          test: 'broker-restart',
          recoverySeconds: (Date.now() - restartedAt) / 1000,
          events: stream.approvals.length + stream.membership.length + stream.messages.length,
          expectedAlerts: stream.expected.size,
          ...figures,
        }),
      );
    },
  );
});

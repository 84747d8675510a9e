/**
 * Liveness that tells the truth, on a real process: /healthz fails only when a consumer is wedged
 * with records waiting, not while idle, nor while it waits at the ordering barrier for a consumer
 * that makes progress, nor while it is held at an undecodable batch; and it recovers with the
 * consumer. (Readiness through a consumer kafkajs does not restart: kafka-acls.test.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/actions/records.js';
import type { Monitor } from '../../src/monitor.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';
import { fixtureRecords, produceWithJava, segmentFile } from '../support/kafka-java.js';
import { consumerGroups, topicsWithUncommitted } from '../../src/stream/consumer-groups.js';

let env: TestEnv | null = null;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await env?.cleanup();
  env = null;
});

/** A TCP proxy that can stop forwarding while keeping its connections open: a peer that hangs. */
class StallingProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  port = 0;
  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      for (const s of pair) {
        s.on('close', () => this.pairs.delete(pair));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      if (this.stalled) for (const s of pair) s.pause();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Stops forwarding: bytes wait in the sockets' buffers, nothing is answered, nothing closes. */
  stall(): void {
    this.stalled = true;
    for (const pair of this.pairs) for (const s of pair) s.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const pair of this.pairs) for (const s of pair) s.resume();
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) for (const s of pair) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

const get = async (m: Monitor, path: string) => {
  const res = await fetch(`http://127.0.0.1:${m.httpPort}${path}`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; reason?: string; consumers?: Record<string, string> },
  };
};
const metricsText = async (m: Monitor) => (await fetch(`http://127.0.0.1:${m.httpPort}/metrics`)).text();

/** Samples /healthz every 50 ms while `during` runs; returns every status seen. */
async function healthWhile(m: Monitor, during: Promise<unknown>): Promise<number[]> {
  const seen: number[] = [];
  let done = false;
  const sampling = (async () => {
    while (!done) {
      const r = await get(m, '/healthz');
      if (r.status !== 200)
        console.info(new Date().toISOString(), JSON.stringify(r.body), JSON.stringify((await get(m, '/readyz')).body));
      seen.push(r.status);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await during;
  } finally {
    done = true;
    await sampling;
  }
  return seen;
}

/**
 * Longer than one batch of the backlog below takes on a loaded test machine (up to 5 s seen with
 * other test runs on two cores; about 0.5 s alone), shorter than the whole backlog (14 s alone).
 */
const STALL_SECONDS = 8;
const BACKLOG_SENDS = 40;

describe('/healthz', () => {
  it(
    'fails when a consumer judges nothing while records wait for it, and only then',
    { timeout: 300_000 },
    async () => {
      env = await createTestEnv({ partitions: 1 });
      const proxy = new StallingProxy(6379);
      await proxy.open();
      cleanups.push(() => proxy.close());
      const monitor = await env.startMonitor({
        redisUrl: `redis://127.0.0.1:${proxy.port}`,
        stallSeconds: STALL_SECONDS,
      });
      await waitFor('readiness', async () => monitor.notReadyReason() === null);

      // Idle, longer than the stall setting: alive.
      const idle = await healthWhile(monitor, new Promise((r) => setTimeout(r, (STALL_SECONDS + 1) * 1000)));
      expect(new Set(idle)).toEqual(new Set([200]));

      // A backlog of approvals and one chat behind it: membership waits at the ordering barrier
      // while the approvals consumer works through the backlog. Alive throughout.
      const producer = env.kafka.producer();
      await producer.connect();
      cleanups.push(() => producer.disconnect());
      const at = new Date().toISOString();
      for (let batch = 0; batch < BACKLOG_SENDS; batch++) {
        const approvals = Array.from({ length: 5_000 }, (_, i) => ({
          key: `kid${i % 50}`,
          value: JSON.stringify({
            type: 'contact.approved',
            eventId: `a${batch}-${i}`,
            occurredAt: at,
            childId: `kid${i % 50}`,
            contactId: `c${batch}-${i}`,
          }),
        }));
        await producer.send({ topic: env.config.topics.approvals, messages: approvals, acks: -1 });
      }
      const chat = {
        type: 'chat.created',
        eventId: 'c1',
        occurredAt: at,
        chatId: 'chat-1',
        createdBy: 'kid0',
        members: ['kid0', 'adult-1'],
      };
      await producer.send({
        topic: env.config.topics.membership,
        messages: [{ key: 'chat-1', value: JSON.stringify(chat) }],
        acks: -1,
      });
      const backlogStarted = Date.now();
      const catchingUp = await healthWhile(monitor, waitUntilConsumed(env, 150_000));
      const backlogSeconds = (Date.now() - backlogStarted) / 1000;
      const waited = Number(
        /^pairguard_ordering_wait_seconds_sum\{stream="membership"\} (\S+)$/m.exec(await metricsText(monitor))?.[1],
      );
      expect(new Set(catchingUp)).toEqual(new Set([200]));
      expect(waited).toBeGreaterThan(STALL_SECONDS);

      // Redis stops answering (connections open, no reply): the approvals consumer's batch hangs
      // with records waiting. Not alive once the stall setting has passed.
      proxy.stall();
      const stalledAt = Date.now();
      await producer.send({
        topic: env.config.topics.approvals,
        messages: [
          {
            key: 'kid0',
            value: JSON.stringify({
              type: 'contact.approved',
              eventId: 'late',
              occurredAt: at,
              childId: 'kid0',
              contactId: 'late',
            }),
          },
        ],
        acks: -1,
      });
      const stalled = await waitFor(
        '/healthz 503',
        async () => {
          const r = await get(monitor, '/healthz');
          return r.status === 503 ? r : null;
        },
        30_000,
      );
      const detectedSeconds = (Date.now() - stalledAt) / 1000;
      expect(stalled.body).toEqual({
        status: 'stalled',
        reason: expect.stringMatching(
          new RegExp(
            `^approvals consumer judged nothing for \\d+ s while ${env.config.topics.approvals} has records it has not committed$`,
          ),
        ),
      });
      expect(detectedSeconds).toBeGreaterThanOrEqual(STALL_SECONDS);
      const notReady = await get(monitor, '/readyz');
      expect([notReady.status, notReady.body.status, notReady.body.reason]).toEqual([
        503,
        'not-ready',
        stalled.body.reason,
      ]);
      expect(notReady.body.consumers?.approvals).toMatch(/^stalled: approvals consumer judged nothing/);

      // Redis answers again: the batch completes, the consumer commits, and it is alive again.
      proxy.resume();
      await waitFor('/healthz 200', async () => (await get(monitor, '/healthz')).status === 200, 30_000);
      await waitUntilConsumed(env);
      expect((await get(monitor, '/readyz')).body.consumers).toEqual({
        approvals: 'running',
        membership: 'running',
        messages: 'running',
      });
      console.info(
        JSON.stringify({
          test: 'liveness-stall',
          stallSeconds: STALL_SECONDS,
          backlogRecords: BACKLOG_SENDS * 5_000,
          backlogSeconds,
          membershipBarrierWaitSeconds: waited,
          healthSamples: idle.length + catchingUp.length,
          detectedSeconds,
        }),
      );
    },
  );
});

/** The first zstd record batch of a partition's first segment on the local broker's disk: file, and where its records start. */
async function firstZstdBatch(admin: Admin, topic: string): Promise<{ file: string; at: number }> {
  const file = await segmentFile(admin, topic);
  const log = readFileSync(file);
  for (let at = 0; at + 61 <= log.length; at += 12 + log.readInt32BE(at + 8))
    if ((log.readInt16BE(at + 21) & 0x07) === 4) return { file, at: at + 61 };
  throw new Error(`no zstd batch in ${file}`);
}

describe('/healthz while a consumer is held', () => {
  it(
    'stays 200 while membership holds at a batch it cannot decode and messages waits behind it, well past the stall setting',
    { timeout: 120_000 },
    async () => {
      env = await createTestEnv({ partitions: 1 });
      await produceWithJava(
        env.config.kafkaBrokers.join(','),
        fixtureRecords('test/fixtures/flaw-2019.jsonl', env.config.topics),
        { 'compression.type': 'zstd' },
      );
      // The batch holding chat.created, damaged on the broker's disk: its zstd magic overwritten.
      const { file, at } = await firstZstdBatch(env.admin, env.config.topics.membership);
      const original = readFileSync(file);
      const damaged = Buffer.from(original);
      damaged.writeUInt32BE(0xdeadbeef, at);
      writeFileSync(file, damaged);
      cleanups.push(() => writeFileSync(file, original));

      const monitor = await env.startMonitor({ stallSeconds: 1 });
      await waitFor('membership held', async () =>
        (await get(monitor, '/readyz')).body.consumers?.membership?.startsWith('held: '),
      );
      const held = await healthWhile(monitor, new Promise((r) => setTimeout(r, 4_000)));
      expect(new Set(held)).toEqual(new Set([200]));
      // Not for want of records: both consumers had records waiting and committed none of them.
      const groups = consumerGroups(env.config);
      for (const name of ['membership', 'messages'] as const) {
        const g = groups.find((c) => c.name === name)!;
        expect(await topicsWithUncommitted(env.admin, g.groupId, g.topics), name).toContain(
          name === 'membership' ? env.config.topics.membership : env.config.topics.messages,
        );
      }
      const ready = await get(monitor, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.consumers?.membership).toMatch(
        new RegExp(
          `^held: membership consumer holds at a record batch it cannot decode on ${env.config.topics.membership}`,
        ),
      );

      writeFileSync(file, original);
      await waitUntilConsumed(env, 90_000);
      const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts);
      expect(alerts.map((a) => [a.key, a.value.pair])).toEqual([['group-1', ['bob', 'carol']]]);
      expect((await get(monitor, '/healthz')).status).toBe(200);
    },
  );
});

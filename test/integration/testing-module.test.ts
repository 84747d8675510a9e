/** `pairguard/testing`, used as the README shows: fixtures into fresh topics, wait for pairguard's outputs. */
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PairguardTestEnv } from '../../src/testing/index.js';
import { createPairguardTestEnv } from '../../src/testing/index.js';
import { topicsWithPrefix } from '../support/harness.js';
import { freePort } from '../support/process.js';

let env: PairguardTestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

describe('pairguard/testing', () => {
  it('replays a fixture into fresh topics and waits for the alert and the freeze', async () => {
    env = await createPairguardTestEnv({ brokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379' });
    await env.startMonitor();
    await env.replay('test/fixtures/flaw-2019.jsonl');
    const [alert] = await env.waitForAlerts({ count: 1 });
    expect(alert).toMatchObject({ chatId: 'group-1', pair: ['bob', 'carol'], action: 'frozen' });
    expect(await env.waitForFreezes({ count: 1 })).toMatchObject([
      { type: 'chat.freeze', chatId: 'group-1', alertId: alert!.alertId },
    ]);
  });

  it('takes events as objects, waits until pairguard is idle, and cleans up after itself', async () => {
    env = await createPairguardTestEnv({ mode: 'alert-only', partitions: 1 });
    await env.startMonitor();
    const at = new Date().toISOString();
    await env.replay([
      { type: 'user.registered', eventId: 'r1', occurredAt: at, userId: 'kid', role: 'child' },
      {
        type: 'chat.created',
        eventId: 'c1',
        occurredAt: at,
        chatId: 'room',
        createdBy: 'kid',
        members: ['kid', 'stranger'],
      },
    ]);
    expect((await env.waitForAlerts()).map((a) => [a.chatId, a.pair, a.action])).toEqual([
      ['room', ['kid', 'stranger'], 'alert-only'],
    ]);
    expect(await env.waitForFreezes()).toEqual([]);
    await expect(env.waitForAlerts({ count: 2, timeoutMs: 300 })).rejects.toThrow(
      /timed out after 300 ms waiting for 2 alerts; saw 1/,
    );

    const { id } = env;
    expect(await topicsWithPrefix(id)).toHaveLength(6);
    await env.cleanup();
    await env.cleanup();
    expect(await topicsWithPrefix(id)).toEqual([]);
  });

  it('cleans up when an `await using` block is left', async () => {
    let id = '';
    {
      await using scoped = await createPairguardTestEnv({ partitions: 1 });
      id = scoped.id;
      await scoped.startMonitor();
      await scoped.replay('test/fixtures/flaw-2019.jsonl');
      expect(await scoped.waitForFreezes({ count: 1 })).toMatchObject([{ chatId: 'group-1' }]);
    }
    expect(await topicsWithPrefix(id)).toEqual([]);
  });

  it('waits for dead letters: a record that is not JSON, named by its topic and offset, without its bytes', async () => {
    env = await createPairguardTestEnv({ partitions: 1 });
    await env.startMonitor();
    await env.replay(['{"$topic": "membership", "$key": "chat-1", "$value": "{not json"}']);
    const [dead] = await env.waitForDeadLetters({ count: 1 });
    expect(dead).toMatchObject({ topic: env.config.topics.membership, partition: 0, offset: 0, key: 'chat-1' });
    expect(dead!.error).toMatch(/^invalid-json: /);
    expect(dead).not.toHaveProperty('value');
    expect(await env.waitForDeadLetters({ where: (d) => d.topic === env!.config.topics.approvals })).toEqual([]);
  });

  it('passes the topic settings and any pairguard setting through', async () => {
    // One broker: a replication factor of 2 reaches the broker, which refuses it.
    await expect(createPairguardTestEnv({ replicationFactor: 2 })).rejects.toThrow(
      /^pairguard\/testing: the broker refused the topics \(3 partitions, replication factor 2\): INVALID_REPLICATION_FACTOR/,
    );
    await expect(createPairguardTestEnv({ tls: { caFile: '/nonexistent/ca.pem' } })).rejects.toThrow(
      /^invalid KAFKA_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem/,
    );
    await expect(
      createPairguardTestEnv({ settings: { KAFKA_SASL_PASSWORD_FILE: '/nonexistent/secret' } }),
    ).rejects.toThrow(/^invalid KAFKA_SASL_PASSWORD_FILE/);
    env = await createPairguardTestEnv({
      settings: { PAIRGUARD_MAX_CHAT_MEMBERS: '3', PAIRGUARD_GROUP_ID: 'not-this' },
    });
    expect(env.config.maxChatMembers).toBe(3);
    expect(env.config.groupId).toBe(`pairguard-${env.id}`);
  });

  it('names what to start, within seconds, when no broker or no Redis answers', async () => {
    const closed = await freePort();
    let t0 = performance.now();
    await expect(createPairguardTestEnv({ brokers: [`127.0.0.1:${closed}`] })).rejects.toThrow(
      new RegExp(
        `^pairguard/testing: no Kafka broker answers at 127\\.0\\.0\\.1:${closed} \\(connect ECONNREFUSED [^)]*\\): start one \\(\`npm run services\` in a pairguard clone, or Testcontainers' KafkaContainer\\) and pass its address as \`brokers\`$`,
      ),
    );
    expect(performance.now() - t0).toBeLessThan(10_000);

    t0 = performance.now();
    const err = await createPairguardTestEnv({ redisUrl: `redis://user:hunter2@127.0.0.1:${closed}` }).catch(
      (e: Error & { code?: string }) => e,
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(err).toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^pairguard/testing: no Redis answers at redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${closed} \\(.*ECONNREFUSED.*\\): start one \\(\`redis-server\``,
      ),
    );
    expect((err as Error).message).not.toContain('hunter2');

    // A port that accepts connections and then says nothing: the connect timeout bounds each wait.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const at = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      t0 = performance.now();
      await expect(
        createPairguardTestEnv({
          brokers: [`127.0.0.1:${closed}`],
          redisUrl: `redis://${at}`,
          connectTimeoutMs: 1_000,
        }),
      ).rejects.toThrow(
        new RegExp(
          `^pairguard/testing: no Kafka broker answers at 127\\.0\\.0\\.1:${closed} .*; no Redis answers at redis://${at} \\(no answer within 1000 ms\\)`,
        ),
      );
      expect(performance.now() - t0).toBeLessThan(3_000);

      t0 = performance.now();
      await expect(createPairguardTestEnv({ brokers: [at], connectTimeoutMs: 1_000 })).rejects.toThrow(
        `pairguard/testing: ${at} accepted a connection but did not answer as a Kafka broker within 1000 ms`,
      );
      expect(performance.now() - t0).toBeLessThan(3_000);
    } finally {
      silent.close();
      for (const socket of sockets) socket.destroy();
    }
  });
});

/**
 * What on-call sees of a running monitor: its log lines, readiness, dependency failures and
 * rebalances, on the real broker and Redis.
 */
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { replayFile } from '../../src/cli/replay.js';
import type { Monitor } from '../../src/monitor.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, waitFor, waitUntilConsumed } from '../support/harness.js';

const SENTINEL = 'SENTINEL-TEXT-7f3a';
let env: TestEnv | null = null;
let proxy: TcpProxy | null = null;

afterEach(async () => {
  await env?.cleanup();
  env = null;
  await proxy?.close();
  proxy = null;
});

const replay = (name: string) =>
  replayFile({
    kafka,
    topics: env!.config.topics,
    file: `test/fixtures/${name}.jsonl`,
    createPartitions: 0,
    progress: false,
  });
const metricsText = async (m: Monitor) => (await fetch(`http://127.0.0.1:${m.httpPort}/metrics`)).text();
const metric = async (m: Monitor, series: string) => {
  const line = (await metricsText(m)).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** A TCP proxy to Redis that a test can cut and restore, to fail Redis for one monitor only. */
class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe('logs', () => {
  it('have one line per alert and freeze with the ids to investigate, one per start, join and stop, none per healthy event, and never text', async () => {
    env = await createTestEnv();
    await replay('all-approved');
    await replay('flaw-2019');
    const monitor = await env.startMonitor();
    await waitUntilConsumed(env);
    await waitFor('readiness', async () => monitor.notReadyReason() === null);
    const metrics = await metricsText(monitor);
    await monitor.stop();

    const lines = env.logs.lines();
    const msgs = lines.map((l) => l.msg as string);
    const count = (msg: string) => msgs.filter((m) => m === msg).length;
    expect([
      count('pairguard started'),
      count('joined consumer group'),
      count('approval cache caught up'),
      count('pairguard stopped'),
    ]).toEqual([1, 3, 1, 1]);
    expect(count('dependency up')).toBe(2);

    const alert = lines.filter((l) => l.msg === 'unapproved pairing');
    expect(alert).toHaveLength(1);
    expect(alert[0]).toMatchObject({
      level: 30,
      alertId: expect.any(String),
      chatId: 'group-1',
      pair: ['bob', 'carol'],
      missing: [
        { childId: 'bob', contactId: 'carol' },
        { childId: 'carol', contactId: 'bob' },
      ],
      trigger: {
        eventId: 'flaw-2019-8',
        type: 'chat.created',
        topic: env.config.topics.membership,
        partition: expect.any(Number),
        offset: expect.any(Number),
      },
      action: 'frozen',
    });
    const freeze = lines.filter((l) => l.msg === 'chat freeze requested');
    expect(freeze).toHaveLength(1);
    expect(freeze[0]).toMatchObject({ level: 30, alertId: alert[0]!.alertId, chatId: 'group-1' });

    // 21 healthy events (all-approved plus the rest of flaw-2019) and not one line about them.
    const known = new Set([
      'topics checked',
      'pairguard started',
      'joined consumer group',
      'dependency up',
      'approval cache caught up',
      'unapproved pairing',
      'chat freeze requested',
      'pairguard stopped',
    ]);
    // What the topics are (replication, retention): one line at start.
    expect(count('topics checked')).toBe(1);
    // The test Redis keeps no append-only file: one warning at start, as in production.
    expect(
      count(
        'Redis keeps no append-only file: a restart empties it, and pairguard is blind while it rebuilds its state from the topics (enable appendonly)',
      ),
    ).toBe(1);
    known.add(
      'Redis keeps no append-only file: a restart empties it, and pairguard is blind while it rebuilds its state from the topics (enable appendonly)',
    );
    expect(msgs.filter((m) => !known.has(m))).toEqual([]);
    expect(env.logs.text).not.toMatch(/all-approved-\d|"dan"|"erin"/);

    expect(env.logs.text).not.toContain(SENTINEL);
    expect(metrics).not.toContain(SENTINEL);
    expect(metrics).not.toMatch(/"(alice|bob|carol|group-1|dan|erin|fay)"/);
  });
});

describe('readiness', () => {
  it('is false while the approval cache catches up, then true', async () => {
    env = await createTestEnv({ partitions: 1 });
    const producer = kafka.producer();
    await producer.connect();
    const at = new Date().toISOString();
    const approvals = Array.from({ length: 3000 }, (_, i) => ({
      key: 'kid',
      value: JSON.stringify({
        type: 'contact.approved',
        eventId: `a${i}`,
        occurredAt: at,
        childId: 'kid',
        contactId: `c${i}`,
      }),
    }));
    await producer.send({ topic: env.config.topics.approvals, messages: approvals, acks: -1 });
    await producer.disconnect();

    const monitor = await env.startMonitor();
    const dependencies = new Set(['starting', 'redis unreachable', 'kafka unreachable']);
    const first = await waitFor('the first health check', async () => {
      const reason = monitor.notReadyReason();
      return reason !== null && dependencies.has(reason) ? null : (reason ?? 'ready');
    });
    expect(first).toBe('approval cache catching up');
    const res = await fetch(`http://127.0.0.1:${monitor.httpPort}/readyz`);
    if (monitor.notReadyReason() !== null)
      expect([res.status, await res.json()]).toEqual([
        503,
        { status: 'not-ready', reason: 'approval cache catching up', consumers: expect.any(Object) },
      ]);
    else await res.body?.cancel();
    await waitFor(
      'readiness',
      async () => (await fetch(`http://127.0.0.1:${monitor.httpPort}/readyz`)).status === 200,
      60_000,
    );
    expect(await metric(monitor, 'pairguard_ready')).toBe(1);
  });

  it('a dependency failure is logged once, flips its gauge and /readyz, and its recovery too', async () => {
    env = await createTestEnv({ partitions: 1 });
    proxy = new TcpProxy(6379);
    await proxy.open();
    const monitor = await env.startMonitor({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
    await waitFor('readiness', async () => monitor.notReadyReason() === null);

    await proxy.close();
    await waitFor('redis reported down', async () => (await metric(monitor, 'pairguard_redis_up')) === 0);
    const res = await fetch(`http://127.0.0.1:${monitor.httpPort}/readyz`);
    expect([res.status, await res.json()]).toEqual([
      503,
      { status: 'not-ready', reason: 'redis unreachable', consumers: expect.any(Object) },
    ]);
    expect(await metric(monitor, 'pairguard_ready')).toBe(0);

    await proxy.open();
    await waitFor('redis back', async () => monitor.notReadyReason() === null, 30_000);
    const changes = env.logs.lines().filter((l) => l.dependency === 'redis');
    expect(changes.map((l) => [l.level, l.msg])).toEqual([
      [30, 'dependency up'],
      [50, 'dependency down'],
      [30, 'dependency up'],
    ]);
  });
});

describe('rebalances', () => {
  it('are logged and counted, and the partitions owned add up across instances', async () => {
    env = await createTestEnv();
    const first = await env.startMonitor();
    await waitFor(
      'the first monitor to own every partition',
      async () => (await metric(first, 'pairguard_consumer_assigned_partitions{consumer="membership"}')) === 6,
    );
    const second = await env.startMonitor();
    const owned = async (consumer: string) =>
      ((await metric(first, `pairguard_consumer_assigned_partitions{consumer="${consumer}"}`)) ?? 0) +
      ((await metric(second, `pairguard_consumer_assigned_partitions{consumer="${consumer}"}`)) ?? 0);
    await waitFor(
      'the partitions to be shared',
      async () =>
        (await metric(second, 'pairguard_consumer_assigned_partitions{consumer="membership"}')) === 3 &&
        (await owned('membership')) === 6,
      60_000,
    );
    expect(await owned('approvals')).toBe(3);
    expect(await metric(first, 'pairguard_consumer_rebalances_total{consumer="membership"}')).toBeGreaterThanOrEqual(1);
    expect(env.logs.lines().filter((l) => l.msg === 'consumer group rebalancing').length).toBeGreaterThanOrEqual(1);
  });
});

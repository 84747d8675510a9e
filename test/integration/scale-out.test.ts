/**
 * Scale-out: three `pairguard run` processes in one set of consumer groups, on topics of unequal
 * partition counts, while the stream is being produced: one instance is stopped (SIGTERM), a replacement
 * joins, another is killed (SIGKILL), a second replacement joins. Partitions move three times with
 * records still to judge. The result must be exactly the stream's answers.
 *
 * The stream is `knownStream`, not the generator's history: a generated history replayed in
 * seconds packs days of `occurredAt` into the lag between pairguard's consumers, and its answer
 * file (judged event by event in time order) then differs from what pairguard may lawfully decide
 * (see PARTITIONING.md, "Limits"). knownStream touches each fact once, so its answers hold in
 * any order of consumption that keeps contract §1.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { AssignerProtocol } from 'kafkajs';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import { consumerGroups, recordsNotCommitted } from '../../src/stream/consumer-groups.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka, readTopic, waitFor, waitUntilConsumed } from '../support/harness.js';
import { freePort, processEnv, startProcess } from '../support/process.js';
import type { RunningMonitor } from '../support/process.js';
import { expectExactAnswers, knownStream, produceChats } from '../support/stream.js';

/**
 * Partitions per input topic, deliberately unequal (PARTITIONING.md: the barrier is per topic, not
 * per partition, so counts need not match). Three instances each own some of every topic.
 */
const PARTITIONS = { approvals: 3, membership: 6, control: 6, messages: 4 } as const;
const CHATS = 2000;

let env: TestEnv | undefined;
const running: Instance[] = [];
afterEach(async () => {
  for (const i of running.splice(0))
    if (i.proc.child.exitCode === null && i.proc.child.signalCode === null) i.proc.child.kill('SIGKILL');
  await env?.cleanup();
  env = undefined;
});

beforeAll(() => {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
});

interface Instance {
  name: string;
  port: number;
  proc: RunningMonitor;
  /** pairguard_events_total summed, at the last scrape. */
  events: number;
}

/** The sum of every sample of `metric` on a /metrics page, optionally only those whose labels contain `labels`. */
function sumOf(page: string, metric: string, labels = ''): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function metricsOf(i: Instance): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${i.port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

/** Scrapes an instance and remembers how many events it has judged; null when it does not answer. */
async function scrape(i: Instance): Promise<string | null> {
  const page = await metricsOf(i);
  if (page !== null) i.events = sumOf(page, 'pairguard_events_total');
  return page;
}

describe('scale-out: three processes in one group', () => {
  it(
    'instances stopped, killed and replaced mid-stream: exactly the expected alerts, one freeze per violating chat, every instance judged',
    { timeout: 150_000 },
    async () => {
      const started = Date.now();
      const e = (env = await createTestEnv({ partitions: 3 }));
      await e.admin.createPartitions({
        topicPartitions: (['membership', 'control', 'messages'] as const).map((role) => ({
          topic: e.config.topics[role],
          count: PARTITIONS[role],
        })),
      });
      const stream = knownStream(CHATS, Date.now(), 'so');
      const events = stream.approvals.length + stream.membership.length + stream.messages.length;
      const groups = consumerGroups(e.config);
      const roleOf = Object.fromEntries(
        (Object.keys(PARTITIONS) as Array<keyof typeof PARTITIONS>).map((r) => [e.config.topics[r], r]),
      );
      // Partitions each group divides among its members (membership's group also reads the control topic).
      const totals = Object.fromEntries(
        groups.map((g) => [g.name, g.topics.reduce((n, t) => n + PARTITIONS[roleOf[t]!]!, 0)]),
      );

      const instances: Instance[] = [];
      const start = async (name: string) => {
        const port = await freePort();
        const i: Instance = {
          name,
          port,
          proc: startProcess(['run'], processEnv(e, port, { LOG_LEVEL: 'info' })),
          events: 0,
        };
        instances.push(i);
        running.push(i);
        return i;
      };
      const live = () => instances.filter((i) => i.proc.child.exitCode === null && i.proc.child.signalCode === null);

      /**
       * Every group is stable with exactly the live instances as members, and every live instance
       * owns partitions in every group, together all of them: the partitions have moved.
       */
      const settled = async (): Promise<boolean> => {
        const members = live();
        const described = await e.admin.describeGroups(groups.map((g) => g.groupId));
        for (const g of described.groups) {
          if (g.state !== 'Stable' || g.members.length !== members.length) return false;
          for (const m of g.members) {
            const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
            if (!a || Object.values(a.assignment).every((ps) => ps.length === 0)) return false;
          }
        }
        const pages = await Promise.all(members.map(scrape));
        if (pages.some((p) => p === null)) return false;
        for (const g of groups) {
          const owned = pages.map((p) => sumOf(p!, 'pairguard_consumer_assigned_partitions', `consumer="${g.name}"`));
          if (owned.some((n) => n === 0) || owned.reduce((a, b) => a + b, 0) !== totals[g.name]) return false;
        }
        return true;
      };
      const judged = (i: Instance, above = 0) =>
        waitFor(
          `${i.name} to judge events`,
          async () => ((await scrape(i)) !== null && i.events > above) || null,
          40_000,
        );

      const producer = kafka.producer();
      await producer.connect();
      let chat = 0;
      let produced = 0;
      const produceTo = async (to: number) => {
        produced += await produceChats(producer, e, stream, chat, to);
        chat = to;
      };
      /**
       * Produces 20 chats every 150 ms up to chat `limit` until stopped: records arrive while
       * partitions move. Resolves `started` once the first 20 are on their topics.
       */
      const trickle = (limit: number) => {
        let stop = false;
        let firstChunk!: () => void;
        const started = new Promise<void>((r) => (firstChunk = r));
        const done = (async () => {
          while (!stop && chat < limit) {
            await produceTo(Math.min(limit, chat + 20));
            firstChunk();
            await new Promise((r) => setTimeout(r, 150));
          }
          firstChunk();
        })();
        return {
          started,
          stop: async () => {
            stop = true;
            await done;
          },
        };
      };
      const moves: Array<{ after: string; settledMs: number; producedDuring: number; notCommittedAtStart: number }> =
        [];
      /**
       * Runs `op` (which makes partitions move), with records arriving, until the groups settle
       * again. The trickle's first records are on their topics before `op` starts: a clean stop
       * can settle the groups before a produce request started alongside it completes.
       */
      const move = async (after: string, limit: number, op: () => Promise<void>) => {
        const [t, before] = [Date.now(), produced];
        const trickling = trickle(limit);
        const stopTrickle = trickling.stop;
        try {
          await trickling.started;
          await op();
          const notCommittedAtStart = Number(await recordsNotCommitted(e.admin, e.config));
          await waitFor(`partitions to settle after ${after}`, settled, 60_000);
          moves.push({ after, settledMs: Date.now() - t, producedDuring: produced - before, notCommittedAtStart });
        } finally {
          await stopTrickle();
        }
      };

      try {
        // Three instances share every partition of every group.
        const [a, b, c] = [await start('A'), await start('B'), await start('C')];
        await waitFor('three instances to share the partitions', settled, 60_000);
        await produceTo(400);
        for (const i of [a, b, c]) await judged(i);

        // 1. A is stopped cleanly: its partitions move to B and C.
        await scrape(a);
        await move('SIGTERM A', 800, async () => {
          a.proc.child.kill('SIGTERM');
          expect(await a.proc.exited, 'A exit code').toBe(0);
        });
        await produceTo(800);

        // 2. A replacement joins: partitions move again.
        // The trickle stops short of 1200 so that records still arrive once D owns its partitions:
        // a slow rebalance could otherwise leave D nothing to judge.
        const d = await start('D');
        await move('D joined', 1100, async () => {});
        await produceTo(1200);
        await judged(d);

        // 3. B dies without a word while judging; its partitions are nobody's until its session
        // expires, and a second replacement joins.
        let f: Instance | null = null;
        await move('SIGKILL B, E joined', 1600, async () => {
          await scrape(b);
          await judged(b, b.events);
          b.proc.child.kill('SIGKILL');
          await b.proc.exited;
          f = await start('E');
        });
        await produceTo(CHATS);
        await judged(f!);

        await waitUntilConsumed(e, 60_000);
        for (const i of live()) await scrape(i);
        for (const i of live()) i.proc.child.kill('SIGTERM');
        for (const i of [c, d, f!]) expect(await i.proc.exited, `${i.name} exit code`).toBe(0);
      } catch (err) {
        // The instances' own account (warnings and errors), for a failing run.
        for (const i of instances)
          console.info(
            `--- ${i.name} (exit ${i.proc.child.exitCode ?? i.proc.child.signalCode}) ---\n${i.proc
              .output()
              .split('\n')
              .filter((l) => /"level":(4|5|6)\d/.test(l))
              .slice(-20)
              .join('\n')}`,
          );
        throw err;
      } finally {
        await producer.disconnect();
      }
      expect(produced).toBe(events);

      // Every instance judged part of the stream before it left or the stream ended.
      for (const i of instances) expect(i.events, `events judged by ${i.name}`).toBeGreaterThan(0);
      // Partitions moved three times, each time while records were being produced.
      expect(moves).toHaveLength(3);
      for (const m of moves) expect(m.producedDuring, `records produced during "${m.after}"`).toBeGreaterThan(0);

      // Exactly the expected pairings, each with one alertId; one freeze (one alertId) per violating chat.
      const figures = await expectExactAnswers(e, stream);
      const alerts = await readTopic<AlertRecord>(e.admin, e.config.topics.alerts);
      const freezes = (await readTopic<FreezeCommand>(e.admin, e.config.topics.control)).filter(
        (r) => r.value.type === 'chat.freeze',
      );
      const violatingChats = new Set([...stream.expected].map((k) => k.split('|')[0]!));
      // No freeze for a chat that must not be frozen.
      expect(new Set(freezes.map((r) => r.value.chatId))).toEqual(violatingChats);
      expect(alerts.every((r) => r.value.action === 'frozen')).toBe(true);
      // A freeze names the alert that caused it.
      const alertIds = new Set(alerts.map((r) => r.value.alertId));
      expect(freezes.every((r) => alertIds.has(r.value.alertId))).toBe(true);

      const count = (msg: string) =>
        instances.reduce((n, i) => n + i.proc.output().split(`"msg":"${msg}`).length - 1, 0);
      if (process.env.SCALE_OUT_LOGS)
        for (const i of instances)
          console.info(
            `--- ${i.name} ---\n${i.proc
              .output()
              .split('\n')
              .filter((l) => /"level":(4|5|6)\d/.test(l))
              .join('\n')}`,
          );
      console.info(
        JSON.stringify({
          test: 'scale-out',
          events,
          partitions: PARTITIONS,
          instances: instances.length,
          stops: 1,
          kills: 1,
          judgedByInstance: Object.fromEntries(instances.map((i) => [i.name, i.events])),
          // Times a barrier waited longer than PAIRGUARD_APPROVAL_CATCHUP_WARN_MS (a dead owner's partitions).
          barrierWarnings: count('judging waits for the state it depends on'),
          // Batches that failed (e.g. a heartbeat refused mid-rebalance) and were fetched again.
          batchRetries: count('batch failed, will be retried'),
          moves,
          expectedAlerts: stream.expected.size,
          alertRecords: figures.alertRecords,
          alertCopies: figures.duplicateAlertRecords,
          freezes: figures.freezeRecords,
          freezeCopies: figures.duplicateFreezeRecords,
          durationSeconds: (Date.now() - started) / 1000,
        }),
      );
    },
  );
});

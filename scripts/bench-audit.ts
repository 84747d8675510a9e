/**
 * `npm run bench:audit -- [--events 200000] [--seed 42] [--families N] [--partitions 3] [--keep]`: generates a
 * synthetic history straight into fresh topics on the local broker (streamed, never held in
 * memory), then audits it in a separate process — so its peak memory is the audit's alone — and
 * compares the chats found with the answer file. Prints one line of figures; deletes the topics
 * unless --keep.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { auditTopics } from '../src/audit/audit.js';
import { replayLines } from '../src/cli/replay.js';
import { withTopicPrefix } from '../src/cli/options.js';
import { DEFAULT_TOPICS } from '../src/config.js';
import { SyntheticPlatform } from '../src/synthetic/platform.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '42' },
    partitions: { type: 'string', default: '3' },
    families: { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
    'audit-only': { type: 'string' },
  },
});
const kafka = new Kafka({ clientId: 'pairguard-bench', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
const limits = { maxValueBytes: 262_144, maxMembers: 1000 };

if (values['audit-only'] !== undefined) {
  // The child: audit only, and report what it took.
  const report = await auditTopics({
    kafka,
    topics: withTopicPrefix({ ...DEFAULT_TOPICS }, values['audit-only']),
    limits,
  });
  process.stdout.write(
    JSON.stringify({
      summary: report.summary,
      chats: report.chats.map((c) => [c.chatId, c.violationMs, c.ongoing]),
      maxRssKb: process.resourceUsage().maxRSS,
    }),
  );
  process.exit(0);
}

const prefix = `bench-${randomBytes(3).toString('hex')}.`;
const topics = withTopicPrefix({ ...DEFAULT_TOPICS }, prefix);
const platform = new SyntheticPlatform({
  seed: Number(values.seed),
  events: Number(values.events),
  families: Number(values.families),
});
const lines = (function* () {
  for (const e of platform.events()) yield JSON.stringify(e);
})();
try {
  let t = performance.now();
  const replayed = await replayLines({ kafka, topics, createPartitions: Number(values.partitions) }, lines);
  const replaySeconds = (performance.now() - t) / 1000;
  const answers = platform.answers();

  t = performance.now();
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--audit-only', prefix],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const wall = (performance.now() - t) / 1000;
  if (child.status !== 0) throw new Error(`audit failed: ${child.stderr}`);
  const audit = JSON.parse(child.stdout) as {
    summary: { events: number; seconds: number };
    chats: Array<[string, number, boolean]>;
    maxRssKb: number;
  };

  const expected = new Map(answers.chats.map((c) => [c.chatId, c]));
  const found = new Set(audit.chats.map(([id]) => id));
  const missed = answers.chats.filter((c) => !found.has(c.chatId)).length;
  const extra = audit.chats.filter(([id]) => !expected.has(id)).length;
  const wrongDuration = audit.chats.filter(
    ([id, ms, ongoing]) =>
      expected.has(id) && (expected.get(id)!.violationMs !== ms || expected.get(id)!.ongoing !== ongoing),
  ).length;
  process.stdout.write(
    `history: ${replayed.records} events (${answers.population.adults + answers.population.children} users, ${answers.population.chats} chats) replayed in ${replaySeconds.toFixed(1)} s\n` +
      `audit: ${audit.summary.events} events in ${audit.summary.seconds.toFixed(1)} s (process wall ${wall.toFixed(1)} s), peak RSS ${(audit.maxRssKb / 1024).toFixed(0)} MiB\n` +
      `chats: ${audit.chats.length} found, ${answers.chats.length} in the answer file; ${missed} missed, ${extra} extra, ${wrongDuration} with a different duration\n`,
  );
  if (missed + extra + wrongDuration > 0) process.exitCode = 1;
} finally {
  if (!values.keep) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  } else process.stdout.write(`topics kept: ${prefix}*\n`);
}

/** The `pairguard` command line. */
import { Command } from 'commander';
import closeWithGrace from 'close-with-grace';
import type { Kafka } from 'kafkajs';
import { z } from 'zod';
import { loadConfig } from '../config.js';
import type { Config } from '../config.js';
import { PairguardError } from '../errors.js';
import { Monitor } from '../monitor.js';
import { versionLine } from '../observability/build-info.js';
import { createLogger } from '../observability/logger.js';
import { createKafka } from '../stream/kafka-client.js';
import { ignoreNegativeTimeoutWarnings } from '../stream/kafkajs-warnings.js';
import { VIOLATION_KINDS, generatorOptionsSchema } from '../synthetic/options.js';
import { runAudit } from './audit.js';
import { breakerStatus, describeBreaker, requestBreakerReset } from './breaker.js';
import { EXIT } from './exit-codes.js';
import { exportTopics } from './export.js';
import { defaultAnswersPath, generateFiles } from './generate.js';
import { numberFlag, parseFlags, timeFlag, topicPrefixFlag, withTopicPrefix } from './options.js';
import { replayFile } from './replay.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
ignoreNegativeTimeoutWarnings();

/** Bad input or settings end the command with one line, not a stack trace; `code` is the exit status of anything but a bad flag or setting. */
function fail(err: unknown, code: number = EXIT.failed): never {
  const message = err instanceof PairguardError ? err.message : ((err as Error)?.message ?? String(err));
  process.stderr.write(`pairguard: ${message}\n`);
  const usage =
    err instanceof PairguardError &&
    (err.code === 'CONFIG_INVALID' || err.code === 'USAGE_INVALID' || err.code === 'TOPIC_PRECONDITION');
  process.exit(usage ? EXIT.usage : code);
}

/** A command's summary: a line of text, or with --json one JSON object on one line. */
const summaryOut = (json: boolean, text: string, value: unknown) => (json ? `${JSON.stringify(value)}\n` : text);

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    fail(err);
  }
}

/** A Kafka client for a one-shot command; its own logs go to stderr, warnings and errors only. */
function commandKafka(cfg: Config, command: string): Kafka {
  return createKafka(cfg, createLogger('warn', process.stderr), `-${command}`);
}

const limitsOf = (cfg: Config) => ({
  maxValueBytes: cfg.maxEventBytes,
  maxMembers: cfg.maxChatMembers,
  maxClockSkewMs: cfg.maxClockSkewSeconds * 1000,
});
const counts = (byRole: Record<string, number | undefined>) =>
  Object.entries(byRole)
    .map(([role, n]) => `${n} ${role}`)
    .join(', ') || 'none';

const program = new Command()
  .name('pairguard')
  .description(
    "Watches a children's messaging platform's event streams and freezes any chat that pairs a child with an unapproved contact.",
  )
  // Usage errors are one line and exit 2, like a bad setting (`pairguard --help` shows the usage).
  .version(
    versionLine(),
    '-V, --version',
    'print the version, the git revision it was built from and the Node.js version',
  )
  .configureOutput({ outputError: (str, write) => write(`pairguard: ${str.replace(/^error: /, '').trimEnd()}\n`) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage));

program
  .command('run')
  .description('run the monitor (configuration from the environment; see README)')
  .action(async () => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    const starting = Monitor.start({ config: cfg, logger });
    // Installed before start-up finishes: a SIGTERM while starting stops the monitor as soon as it
    // has started, with exit code 0, rather than killing the process half-connected.
    closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
      if (err) logger.error({ err: err.message }, 'stopping after an unexpected error');
      else logger.info({ signal }, 'stopping');
      const monitor = await starting.catch(() => null);
      await monitor?.stop();
    });
    let monitor: Monitor;
    try {
      monitor = await starting;
    } catch (err) {
      logger.fatal({ err: (err as Error).message }, 'pairguard could not start');
      fail(err);
    }
    monitor.onFatalStop(() => process.exit(1));
  });

const topicPrefixHelp = 'prepended to every topic name, e.g. "test1." reads and writes test1.kids.approvals';

program
  .command('replay')
  .description('write the events of a JSONL file to their input topics, in file order')
  .argument('<file>', 'JSONL file, one event (or raw record) per line')
  .option('--rate <events-per-second>', 'play back at this many events per second (default: as fast as possible)')
  .option('--topic-prefix <prefix>', topicPrefixHelp)
  .option('--json', 'print the summary as JSON')
  .action(async (file: string, raw: Record<string, unknown>) => {
    try {
      const flags = parseFlags(
        z.object({
          rate: numberFlag(z.number().positive('must be more than 0')).optional(),
          topicPrefix: topicPrefixFlag,
          json: z.boolean().default(false),
        }),
        raw,
      );
      const cfg = config();
      const topics = withTopicPrefix(cfg.topics, flags.topicPrefix);
      const s = await replayFile({
        kafka: commandKafka(cfg, 'replay'),
        topics,
        file,
        createPartitions: cfg.createTopicsPartitions,
        progress: process.stderr.isTTY === true,
        rate: flags.rate,
      });
      process.stdout.write(
        summaryOut(flags.json, `replayed ${s.records} records (${counts(s.byRole)}) in ${s.seconds.toFixed(1)} s\n`, s),
      );
    } catch (err) {
      fail(err);
    }
  });

program
  .command('audit')
  .description('judge the history on the input topics, without acting, and list every chat that was ever in violation')
  .option('--json', 'machine-readable output')
  .option(
    '--html <file>',
    'also write the report as one self-contained HTML page (timeline per chat, totals, children affected)',
  )
  .option('--since <time>', 'only chats in violation at or after this ISO-8601 time')
  .option('--until <time>', 'judge history up to this ISO-8601 time only')
  .option('--topic-prefix <prefix>', topicPrefixHelp)
  .action(async (raw: Record<string, unknown>) => {
    try {
      const flags = parseFlags(
        z
          .object({
            json: z.boolean().default(false),
            html: z.string().min(1, 'must name a file').optional(),
            since: timeFlag.optional(),
            until: timeFlag.optional(),
            topicPrefix: topicPrefixFlag,
          })
          .refine((f) => f.since === undefined || f.until === undefined || f.since <= f.until, {
            path: ['until'],
            message: 'must not be before --since',
          }),
        raw,
      );
      const cfg = config();
      const { report, output } = await runAudit({
        kafka: commandKafka(cfg, 'audit'),
        topics: withTopicPrefix(cfg.topics, flags.topicPrefix),
        limits: limitsOf(cfg),
        json: flags.json,
        since: flags.since,
        until: flags.until,
        html: flags.html,
        progress: process.stderr.isTTY === true,
      });
      process.stdout.write(output);
      if (flags.html) process.stderr.write(`audit report written to ${flags.html}\n`);
      // CI and cron jobs gate on this: any chat in violation is a finding.
      process.exitCode = report.chats.length > 0 ? EXIT.failed : EXIT.ok;
    } catch (err) {
      fail(err, EXIT.unreadable);
    }
  });

program
  .command('export')
  .description(
    'dump the input and control topics to JSONL in time order, the format replay reads (message text is never written)',
  )
  .option('-o, --out <file>', 'file to write (default: stdout)')
  .option('--no-control', 'leave out the control topic (freezes and unfreezes)')
  .option('--topic-prefix <prefix>', topicPrefixHelp)
  .option('--json', 'print the summary as JSON (on stderr when the records go to stdout)')
  .action(async (raw: Record<string, unknown>) => {
    try {
      const flags = parseFlags(
        z.object({
          out: z.string().min(1, 'must name a file').optional(),
          control: z.boolean(),
          topicPrefix: topicPrefixFlag,
          json: z.boolean().default(false),
        }),
        raw,
      );
      const cfg = config();
      const s = await exportTopics({
        kafka: commandKafka(cfg, 'export'),
        topics: withTopicPrefix(cfg.topics, flags.topicPrefix),
        limits: limitsOf(cfg),
        out: flags.out ?? null,
        control: flags.control,
        progress: process.stderr.isTTY === true,
      });
      const where = flags.out ? ` to ${flags.out}` : '';
      const line = `exported ${s.records} records (${counts(s.byRole)}; ${s.raw} raw, ${s.redacted} with text removed)${where} in ${s.seconds.toFixed(1)} s\n`;
      (flags.out ? process.stdout : process.stderr).write(
        summaryOut(flags.json, line, { ...s, out: flags.out ?? null }),
      );
    } catch (err) {
      fail(err);
    }
  });

/** Generator knobs by flag; nested `rates` get one flag per kind. */
const RATE_FLAGS = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, `--rate-${k}`])) as Record<string, string>;

program
  .command('generate')
  .description('write a deterministic synthetic history (JSONL) with injected violations, and its answer file')
  .option('--seed <n>', 'random seed: same seed and knobs, same bytes (default 1)')
  .option('--events <n>', 'events to write (default 10000)')
  .option('--start <time>', 'occurredAt of the first event (default 2026-01-05T08:00:00Z)')
  .option('--days <n>', 'days the history spans (default 30)')
  .option('--families <n>', 'families at the start (default: one per 250 events)')
  .option('--rate-group-flaw <n>', 'injected 2019 group flaws per 10,000 events (default 2)')
  .option('--rate-revocation-in-chat <n>', 'injected revocations inside a live chat per 10,000 events (default 2)')
  .option('--rate-unknown-user <n>', 'injected unknown users joining per 10,000 events (default 2)')
  .option('--rate-non-member-message <n>', 'injected messages from non-members per 10,000 events (default 2)')
  .option('--resolve-fraction <f>', 'share of injected violations later ended (default 0.6)')
  .option('--no-text', 'messages without text')
  .option('-o, --out <file>', 'events file (default: stdout)')
  .option('--answers <file>', 'answer file (default: beside --out, as NAME.answers.json)')
  .option('--json', 'print the summary as JSON (on stderr when the events go to stdout)')
  .action(async (raw: Record<string, unknown>) => {
    try {
      const num = numberFlag(z.number()).optional();
      const flags = parseFlags(
        z.object({
          seed: num,
          events: num,
          start: z.string().optional(),
          days: num,
          families: num,
          rateGroupFlaw: num,
          rateRevocationInChat: num,
          rateUnknownUser: num,
          rateNonMemberMessage: num,
          resolveFraction: num,
          text: z.boolean(),
          out: z.string().min(1).optional(),
          answers: z.string().min(1).optional(),
          json: z.boolean().default(false),
        }),
        raw,
      );
      const rates = {
        'group-flaw': flags.rateGroupFlaw,
        'revocation-in-chat': flags.rateRevocationInChat,
        'unknown-user': flags.rateUnknownUser,
        'non-member-message': flags.rateNonMemberMessage,
      };
      const knobs = parseFlags(
        generatorOptionsSchema,
        {
          seed: flags.seed,
          events: flags.events,
          start: flags.start,
          days: flags.days,
          families: flags.families,
          rates: Object.fromEntries(Object.entries(rates).filter(([, v]) => v !== undefined)),
          resolveFraction: flags.resolveFraction,
          text: flags.text,
        },
        (path) => (path[0] === 'rates' ? RATE_FLAGS[String(path[1])] : undefined),
      );
      const out = flags.out ?? null;
      const answersPath = flags.answers ?? (out ? defaultAnswersPath(out) : null);
      const a = await generateFiles({ knobs, out, answers: answersPath });
      const injected = VIOLATION_KINDS.map((k) => `${a.injected[k]} ${k}`).join(', ');
      const line =
        `generated ${a.events} events${out ? ` to ${out}` : ''} (${a.population.adults + a.population.children} users, ${a.population.chats} chats; injected ${injected}); ` +
        `${a.chats.length} chats must be flagged (${a.chats.filter((c) => c.ongoing).length} still in violation at the end)${answersPath ? `: answers in ${answersPath}` : ''}\n`;
      const summary = {
        out,
        answers: answersPath,
        events: a.events,
        firstEventAt: a.firstEventAt,
        lastEventAt: a.lastEventAt,
        population: a.population,
        injected: a.injected,
        flaggedChats: a.chats.length,
        ongoingChats: a.chats.filter((c) => c.ongoing).length,
        options: a.options,
      };
      (out ? process.stdout : process.stderr).write(summaryOut(flags.json, line, summary));
    } catch (err) {
      fail(err);
    }
  });

const breaker = program
  .command('breaker')
  .description('the freeze breaker: whether it is open, the freezes it withheld, and resetting it');
breaker
  .command('status')
  .description('show whether the freeze breaker is open and list the freezes it withheld')
  .option('--json', 'print the state as one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    try {
      const flags = parseFlags(z.object({ json: z.boolean().default(false) }), raw);
      const state = await breakerStatus(config());
      process.stdout.write(flags.json ? `${JSON.stringify(state ?? { off: true })}\n` : describeBreaker(state));
    } catch (err) {
      fail(err);
    }
  });
breaker
  .command('reset')
  .description(
    'close the freeze breaker (a record on the control topic): freezes resume, and withheld freezes that still stand are applied',
  )
  .requiredOption('--by <name>', 'who resets it (kept on the control topic)')
  .action(async (raw: Record<string, unknown>) => {
    try {
      const flags = parseFlags(
        z.object({ by: z.string().regex(/^\S{1,256}$/, 'must be 1-256 characters without spaces') }),
        raw,
      );
      const cfg = config();
      const r = await requestBreakerReset(commandKafka(cfg, 'breaker'), cfg, flags.by);
      process.stdout.write(
        `reset written to ${r.topic} at ${r.occurredAt}; the running monitor applies it (pairguard breaker status shows the result)\n`,
      );
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync(process.argv);

/** The `pairguard` command line. */
import { Command } from 'commander';
import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../config.js';
import type { Config } from '../config.js';
import { PairguardError } from '../errors.js';
import { Monitor } from '../monitor.js';
import { createLogger } from '../observability/logger.js';
import { createKafka } from '../stream/kafka-client.js';
import { replayFile } from './replay.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/** Bad input or settings end the command with one line, not a stack trace. */
function fail(err: unknown): never {
  const message = err instanceof PairguardError ? err.message : (err as Error)?.message ?? String(err);
  process.stderr.write(`pairguard: ${message}\n`);
  process.exit(err instanceof PairguardError && err.code === 'CONFIG_INVALID' ? 2 : 1);
}

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    fail(err);
  }
}

const program = new Command()
  .name('pairguard')
  .description("Watches a children's messaging platform's event streams and freezes any chat that pairs a child with an unapproved contact.")
  .showHelpAfterError();

program
  .command('run')
  .description('run the monitor (configuration from the environment; see README)')
  .action(async () => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    let monitor: Monitor;
    try {
      monitor = await Monitor.start({ config: cfg, logger });
    } catch (err) {
      logger.fatal({ err: (err as Error).message }, 'pairguard could not start');
      fail(err);
    }
    monitor.onFatalStop(() => process.exit(1));
    closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
      if (err) logger.error({ err: err.message }, 'stopping after an unexpected error');
      else logger.info({ signal }, 'stopping');
      await monitor.stop();
    });
  });

program
  .command('replay')
  .description('write the events of a JSONL file to their input topics, in file order')
  .argument('<file>', 'JSONL file, one event per line')
  .action(async (file: string) => {
    const cfg = config();
    const kafka = createKafka(cfg, createLogger('warn', process.stderr), '-replay');
    try {
      const s = await replayFile({ kafka, topics: cfg.topics, file, createPartitions: cfg.createTopicsPartitions, progress: process.stderr.isTTY === true });
      const parts = Object.entries(s.byRole).map(([role, n]) => `${n} ${role}`).join(', ');
      process.stdout.write(`replayed ${s.records} records (${parts || 'none'}) in ${s.seconds.toFixed(1)} s\n`);
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync(process.argv);

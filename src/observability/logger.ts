/**
 * Structured logs (pino). Only ids an investigator needs go into a line; message text never does,
 * because the event types that carry it drop it at parse time (events/schema.ts).
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import type { logCreator } from 'kafkajs';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ name: 'pairguard', level, base: { service: 'pairguard' } }, destination ?? process.stdout);
}

/**
 * Errors kafkajs logs while a broker is still starting or electing, and then retries by itself.
 * If they persist the consumer crashes, and that is logged as an error by the monitor.
 */
const TRANSIENT =
  /coordinator (is )?not available|coordinator load in progress|leadership election|not the coordinator/i;

/** Routes kafkajs's own logs into pino, keeping only warnings and errors. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...rest } = log;
      if (level === KafkaLogLevel.ERROR && TRANSIENT.test(String(rest.error ?? ''))) child.debug(rest, message);
      else if (level === KafkaLogLevel.ERROR) child.error(rest, message);
      else if (level === KafkaLogLevel.WARN) child.warn(rest, message);
      else child.debug(rest, message);
    };
}

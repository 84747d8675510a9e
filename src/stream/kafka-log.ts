/** kafkajs's own logs routed into the monitor's pino logger, keeping only warnings and errors. */
import { logLevel as KafkaLogLevel } from 'kafkajs';
import type { logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Errors kafkajs logs while a broker is still starting or electing, and then retries by itself.
 * If they persist the consumer crashes, and that is logged as an error by the monitor.
 */
const TRANSIENT =
  /coordinator (is )?not available|coordinator load in progress|leadership election|not the coordinator/i;

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

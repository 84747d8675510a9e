/**
 * Structured logs (pino). Only ids an investigator needs go into a line; message text never does,
 * because the event types that carry it drop it at parse time (events/schema.ts).
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };
// kafkajs's logs are routed by the Kafka adapter; re-exported for the tools that build their own client.
export { kafkaLogCreator } from '../stream/kafka-log.js';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ name: 'pairguard', level, base: { service: 'pairguard' } }, destination ?? process.stdout);
}

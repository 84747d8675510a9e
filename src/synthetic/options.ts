/** The generator's knobs, validated (zod) and filled with defaults. See README "Synthetic traffic". */
import { z } from 'zod';

/** The kinds of violation the generator injects (contract §1's failure paths). */
export const VIOLATION_KINDS = ['group-flaw', 'revocation-in-chat', 'unknown-user', 'non-member-message'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

const rate = z.number().min(0, 'must be 0 or more').max(1000, 'must be at most 1000');

export const generatorOptionsSchema = z.object({
  /** Same seed and knobs, same history, byte for byte. */
  seed: z
    .number()
    .int('must be an integer')
    .min(0)
    .max(2 ** 32 - 1)
    .default(1),
  /** Events to generate, exactly. */
  events: z.number().int('must be an integer').min(1).max(100_000_000).default(10_000),
  /** `occurredAt` of the first event. */
  start: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' }).default('2026-01-05T08:00:00.000Z'),
  /** Days of history the events are spread over. */
  days: z.number().positive('must be more than 0').max(36_500).default(30),
  /** Families at the start (0 = one per 250 events); a fifth as many again join over time. */
  families: z.number().int().min(0).max(10_000_000).default(0),
  /** Injected violations per 10,000 events, per kind. */
  rates: z
    .object({
      'group-flaw': rate.default(2),
      'revocation-in-chat': rate.default(2),
      'unknown-user': rate.default(2),
      'non-member-message': rate.default(2),
    })
    .prefault({}),
  /** Share of injected violations that are later ended (an approval, or the offender leaving); the rest stay ongoing. */
  resolveFraction: z.number().min(0).max(1).default(0.6),
  /** Give messages a `text` (exports and replays must strip or carry it safely). */
  text: z.boolean().default(true),
});

export type GeneratorOptions = z.output<typeof generatorOptionsSchema>;
export type GeneratorInput = z.input<typeof generatorOptionsSchema>;
